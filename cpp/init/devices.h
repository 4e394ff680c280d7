// Device nodes and symlinks inside the rootfs (stage2, before pivot_root).
#pragma once
#include "plan.h"
#include "rootfs.h"

namespace tsoci {

void create_devices(const Plan& plan, const Root& root);
void create_symlinks(const Plan& plan, const Root& root);

}  // namespace tsoci
