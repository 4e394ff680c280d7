// Hooks tsoci-init runs itself, in the container's namespaces (runtime-spec config.md):
//   createContainer  stage2, after the mounts, before pivot_root: the path resolves in
//                    the runtime's file system (our root is still the host's)
//   startContainer   stage2, after `start` opened the exec fifo, just before execve: the
//                    path resolves in the container
// Each hook is fork + execve(path, args, env) with the container state JSON on stdin
// (pid = our pid as the container sees it), stdout/stderr collected (shown only in a
// failure's message, as runc does), killed (SIGKILL) when its timeout expires. A non-zero
// exit, a signal or a timeout is a failure: "error running <kind> hook #<n>: …".
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace tsoci {

struct Hook {
  std::string path;
  std::vector<std::string> args, env;
  int timeout = 0;  // seconds; 0: none
};

struct ContainerHooks {
  std::vector<Hook> createContainer, startContainer;
  std::string stateJson;  // runtime-spec state; "pid" and "status" are set per run
};

// The plan's "containerHooks" object. Throws nlohmann exceptions on malformed input.
ContainerHooks parse_container_hooks(const nlohmann::json& j);

// Runs every hook of one kind in order; throws Failure{step "hooks"} on the first failure.
// `kind` names the hooks in messages, `status` is the state's "status".
void run_container_hooks(const char* kind, const std::vector<Hook>& hooks, const std::string& stateJson,
                         const char* status);

// startContainer hooks at `start`: fifoFd is the exec fifo opened for writing (-1: none);
// a hook with no env runs with processEnv, the container process's final environment.
// On success returns (the caller writes "0" and execs). On failure writes "E<message>\n"
// into the fifo (the `start` command reads it and fails) and exits the process.
void run_start_container_hooks(const ContainerHooks& hooks, const std::vector<std::string>& processEnv, int fifoFd);

}  // namespace tsoci
