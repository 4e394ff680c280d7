// runc's -ENOSYS stub (libcontainer/seccomp/patchbpf): prepended to a filter whose default
// action refuses, it returns -ENOSYS for a syscall number above the largest one the profile
// names (per architecture), so a syscall newer than the profile (or than libseccomp) makes
// libc fall back to an older one, instead of failing with the default errno (EPERM).
#pragma once
#ifdef HAVE_SECCOMP
#include <linux/filter.h>
#include <seccomp.h>

#include <string>
#include <vector>

namespace tsoci {

// `archs`: the profile's libseccomp architecture tokens (the native one is added);
// `names`: every syscall name the profile's rules list. Empty when no stub is needed:
// the caller skips it for an allowing default action (ALLOW, LOG, TRACE), as runc does.
std::vector<sock_filter> EnosysStub(std::vector<uint32_t> archs, const std::vector<std::string>& names);

}  // namespace tsoci
#endif
