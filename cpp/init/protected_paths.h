// linux.readonlyPaths and linux.maskedPaths, applied in the new root after pivot_root.
#pragma once
#include <string>

#include "plan.h"

namespace tsoci {

void readonly_paths(const Plan& plan);

// Files get /dev/null bound over them; directories an empty read-only tmpfs, one for all
// of them (the first is mounted, the others are binds of it), as runc does.
void masked_paths(const Plan& plan);

}  // namespace tsoci
