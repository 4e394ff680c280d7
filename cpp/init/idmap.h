// User-namespace id maps, written by stage0 (host side) for stage1.
#pragma once
#include <sys/types.h>

#include "plan.h"

namespace tsoci {

// uid_map, setgroups, gid_map of /proc/<pid>; falls back to newuidmap/newgidmap
// from the host PATH when a direct write is refused (EPERM).
void write_id_maps(const Plan& plan, pid_t pid, int procfd);

}  // namespace tsoci
