// The container process: limits, credentials, capabilities, executable lookup, execve.
#pragma once
#include <string>
#include <vector>

#include "plan.h"

namespace tsoci {

// Default dispositions and an empty mask (Node ignores SIGPIPE/SIGXFSZ, blocks others).
void reset_signals();

// oom_score_adj, rlimits, umask, cwd, groups/uid/gid, capabilities, no_new_privs.
// Rlimits, umask, cwd, credentials, capabilities, no_new_privs (and seccomp when the
// process keeps privileges). Returns the executable's path when it had to be looked up
// before the filter went in (empty otherwise: the caller looks it up).
std::string setup_process(const Plan& plan, int procfd);

// Resolves args[0] in the container the way Go's exec.LookPath does, with the
// error phrases podman/containerd match.
std::string find_executable(const Process& proc);

// FD_CLOEXEC on every fd above the preserved ones, before a seccomp filter goes in (a
// profile may deny close_range; exec_process then relies on this).
void mark_fds_cloexec(const Plan& plan, int procfd);

// Clears FD_CLOEXEC on 0-2 and the preserved fds, everything else closes at execve; execs
// `path` with `env`. A failed execve prints "exec <path>: <why>" and exits 255 (runc).
[[noreturn]] void exec_process(const Plan& plan, const std::string& path, const std::vector<std::string>& env);

}  // namespace tsoci
