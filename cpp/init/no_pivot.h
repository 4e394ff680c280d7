// --no-pivot: before the rootfs is moved onto "/" (MS_MOVE + chroot), the host's full procfs
// and sysfs mounts in the container's mount namespace are detached (or covered with a tmpfs
// where they cannot be). The kernel lets a user namespace mount a fresh procfs/sysfs only
// when a full, uncovered one is visible in its mount namespace (mount_too_revealing); after
// chroot the host's /proc would still be that mount, so `unshare -mrpf mount -t proc` inside
// the container would succeed and reach an unmasked proc. runc does the same (msMoveRoot).
#pragma once
#include <string>

namespace tsoci {

// Every proc or sysfs mount whose root is "/" and whose mount point is outside `rootfs`:
// made rslave (nothing propagates to the host), then detached; EINVAL/EPERM → a tmpfs over it.
void hide_host_procfs(const std::string& rootfs);

}  // namespace tsoci
