// Joining namespaces by path and creating new ones (stage1).
#pragma once
#include "plan.h"

namespace tsoci {

int ns_clone_flag(const std::string& type);

// Opens every namespace path first (a mount-ns join changes what later paths mean),
// then setns: user first, mount last. Returns true if a user namespace was joined.
bool join_namespaces(const Plan& plan);

// CLONE_NEW* flags of the namespaces to create, user excluded (it has its handshake).
int new_namespace_flags(const Plan& plan);

// /proc/self/timens_offsets, after unshare(CLONE_NEWTIME) and before the first child.
void write_time_offsets(const Plan& plan, int procfd);

}  // namespace tsoci
