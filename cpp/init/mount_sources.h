// Bind-mount sources the container's root cannot reach (a user namespace whose root is
// mapped to an unprivileged host uid, sources under 0700 directories such as podman's
// run root). stage0, still host root, joins stage1's new mount namespace, opens each
// bind source there with O_PATH and passes the fds to stage1 (SCM_RIGHTS); stage2 then
// mounts from /proc/self/fd/<n>, which needs no search permission on the path.
#pragma once
#include <sys/types.h>

#include <string>

#include "plan.h"

namespace tsoci {

// A host path beneath plan.rootfs: it may be beneath an earlier mount of the container
// (runc's "mount order" tests bind <rootfs>/mnt/x after binding over /mnt), so it is
// resolved at mount time in the container's mount namespace, never opened beforehand.
bool source_inside_rootfs(const Plan& plan, const std::string& source);

// Whether stage1 should ask stage0 for the sources (a new user and mount namespace, and
// at least one bind mount).
bool wants_mount_sources(const Plan& plan);

// stage0, on stage1's request: one message per bind mount of plan.mounts, in order, each
// carrying its fd or none (then stage2 mounts by path and reports the usual error).
void send_mount_sources(const Plan& plan, pid_t stage1, int procfd, int chan);

// stage1: receives them (kept above the preserved fd range, close-on-exec).
void receive_mount_sources(const Plan& plan, int chan);

// stage2: the source to give mount(2) for m ("/proc/self/fd/<n>" or m.source).
std::string mount_source(const Mount& m);

}  // namespace tsoci
