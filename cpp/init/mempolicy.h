// linux.memoryPolicy: set_mempolicy(2) in stage2 just before execve (the policy is kept
// across execve and inherited by the container's children).
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

namespace tsoci {

struct MemoryPolicy {
  int mode = 0;       // MPOL_*
  std::string nodes;  // "0-3,7"; empty: no nodes
  int flags = 0;      // MPOL_F_*
};

void parse_memory_policy(const nlohmann::json& plan, std::optional<MemoryPolicy>& out);

// Throws Failure{step "memoryPolicy"}.
void apply_memory_policy(const std::optional<MemoryPolicy>& mp);

}  // namespace tsoci
