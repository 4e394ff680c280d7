// AppArmor profile and SELinux exec label of the container process. The planner only
// lets them through when the host has the LSM; here they are written to the task's
// exec attributes, which take effect at the next execve.
#pragma once
#include "plan.h"

namespace tsoci {

// stage2, still root, before the credentials are switched (attr files belong to
// the task's owner while it is dumpable; we are not): writes
//   AppArmor  "exec <profile>" to /proc/thread-self/attr/apparmor/exec (or attr/exec)
//   SELinux   "<label>"        to /proc/thread-self/attr/exec
// through the host /proc dirfd (the container's /proc may be missing or fake).
void apply_lsm_labels(const Plan& plan, int procfd);

}  // namespace tsoci
