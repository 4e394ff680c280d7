// The container process's final environment (runc's prepareEnv, the part that needs the
// container's filesystem).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tsoci {

// `env` (deduplicated by the planner, an empty HOME already dropped) plus HOME when it has
// none: the home of `uid` in the container's /etc/passwd, or "/" without an entry (runc).
// Called in the container's root, before the uid switch.
std::vector<std::string> env_with_home(const std::vector<std::string>& env, uint32_t uid);

// The home directory of `uid` in passwd-format text; "/" when no line names it.
std::string home_from_passwd(const std::string& text, uint32_t uid);

}  // namespace tsoci
