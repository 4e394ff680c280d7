// Bind remounts (MS_REMOUNT|MS_BIND) and the per-mount flags a user namespace locks.
#pragma once
#include <string>

#include "plan.h"

namespace tsoci {

// The MS_* flags of the mount at `target` (statvfs), as runc's statfsToMountFlags:
// MS_STRICTATIME when no other atime mode is set.
unsigned long mount_flags_of(const std::string& target);

// A remount that drops a locked flag fails with EPERM: retry keeping the mount's
// lockable flags (ro, nosuid, nodev, noexec, atime). Returns 0 or the first errno.
int remount(const std::string& target, unsigned long flags);

// runc's bind-mount flags: "mount --bind -o <opts>" semantics (the requested flags only,
// clearing the others), also when only clearing options were given; on EPERM (locked
// flags) the mount's locked flags are re-applied, unless the user asked to clear one of
// them or for another atime mode: then an error, as runc reports it. Throws Failure.
void bind_remount(const Mount& m, const std::string& target, const std::string& where);

}  // namespace tsoci
