// linux.readonlyPaths and linux.maskedPaths, applied in the new root after pivot_root.
#pragma once
#include <string>

#include "plan.h"

namespace tsoci {

// The MS_* flags of the mount at `target` that a user namespace locks (statvfs ST_*):
// a bind remount must keep them or fail with EPERM.
unsigned long locked_flags(const std::string& target);

void readonly_paths(const Plan& plan);

// Files get /dev/null bound over them; directories an empty read-only tmpfs, one for all
// of them (the first is mounted, the others are binds of it), as runc does.
void masked_paths(const Plan& plan);

}  // namespace tsoci
