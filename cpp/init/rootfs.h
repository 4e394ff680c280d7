// The container's root filesystem (stage2, create mode): propagation, the rootfs
// bind, plan.mounts, devices, hooks pause, pivot_root, then the post-pivot steps.
#pragma once
#include <functional>
#include <string>

#include "fd.h"
#include "plan.h"
#include "sync.h"

namespace tsoci {

struct Root {
  int fd;            // O_PATH of the rootfs mount (after the self-bind)
  std::string path;  // host path, for messages
  std::string where(const std::string& p) const { return p + " (in rootfs " + path + ")"; }
};

enum class Create { None, Dir, File };

// Resolves `path` (absolute, inside the container) beneath root.fd without ever
// leaving it: every lookup is openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS), so a
// symlink pointing at "/etc" means <rootfs>/etc (CVE-2021-30465). Missing components
// are created (dirs, and the last one per `create`; *created says whether the last one
// was). Returns an O_PATH fd.
Fd open_in_root(const Root& root, const std::string& path, Create create, const char* step,
                bool* created = nullptr);

// "/proc/self/fd/<fd>": a mount target that cannot be redirected after resolution.
std::string fd_path(int fd);

// afterPivot runs in the new root before it is finalised (read-only remounts,
// hostname, sysctl, masked paths): the console is set up there, like runc.
void prepare_rootfs(const Plan& plan, Sync& sync, const std::function<void()>& afterPivot = nullptr);

}  // namespace tsoci
