// Loading the seccomp filter the runtime compiled (LaunchPlan.seccomp), and handing a
// notify listener fd to the agent at listenerPath. Kept apart from plan.h so that file
// only gains one member; parsed by parse_seccomp() from the same JSON as the rest.
#pragma once
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace tsoci {

struct Plan;

struct SeccompPlan {
  bool present = false;
  std::string bpf;  // decoded struct sock_filter[] (size a multiple of 8)
  uint32_t flags = 0;  // SECCOMP_FILTER_FLAG_*; NEW_LISTENER when listenerPath is set
  std::string listenerPath, listenerState;
  explicit operator bool() const { return present; }
};

// Reads plan.seccomp (base64 decoded and checked here, before anything forks).
void parse_seccomp(const nlohmann::json& plan, SeccompPlan& out);

// stage0, host namespaces, before any pivot_root: connects to listenerPath (when set).
void seccomp_connect_listener(const Plan& plan);

// Loads the filter now (no-op without one). With a listener: sends the notify fd and the
// container process state (pid = this process's host pid, read through the host procfd)
// by SCM_RIGHTS, then closes both. Throws Failure{step "seccomp"}.
void seccomp_load(const Plan& plan, int procfd);

}  // namespace tsoci
