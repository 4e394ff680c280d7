#include "mempolicy.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <vector>

#include "errors.h"

namespace tsoci {

void parse_memory_policy(const nlohmann::json& plan, std::optional<MemoryPolicy>& out) {
  if (!plan.contains("memoryPolicy") || !plan.at("memoryPolicy").is_object()) return;
  auto& j = plan.at("memoryPolicy");
  MemoryPolicy mp;
  mp.mode = j.at("mode").get<int>();
  mp.nodes = j.value("nodes", std::string());
  mp.flags = j.value("flags", 0);
  out = mp;
}

namespace {

constexpr size_t kBits = 8 * sizeof(unsigned long);

// "0-3,7" → bitmask words (the planner checked the syntax; be strict anyway)
std::vector<unsigned long> node_mask(const std::string& nodes) {
  std::vector<unsigned long> mask;
  size_t i = 0;
  while (i < nodes.size()) {
    size_t j = nodes.find(',', i);
    if (j == std::string::npos) j = nodes.size();
    std::string part = nodes.substr(i, j - i);
    i = j + 1;
    char* end = nullptr;
    unsigned long lo = strtoul(part.c_str(), &end, 10), hi = lo;
    if (end == part.c_str()) fail_msg("memoryPolicy", "", EINVAL, "invalid node list \"" + nodes + "\"");
    if (*end == '-') {
      const char* p = end + 1;
      hi = strtoul(p, &end, 10);
      if (end == p) fail_msg("memoryPolicy", "", EINVAL, "invalid node list \"" + nodes + "\"");
    }
    if (*end != '\0' || hi < lo || hi >= 4096) fail_msg("memoryPolicy", "", EINVAL, "invalid node list \"" + nodes + "\"");
    for (unsigned long n = lo; n <= hi; n++) {
      if (mask.size() <= n / kBits) mask.resize(n / kBits + 1, 0);
      mask[n / kBits] |= 1UL << (n % kBits);
    }
  }
  return mask;
}

}  // namespace

void apply_memory_policy(const std::optional<MemoryPolicy>& mp) {
  if (!mp) return;
  std::vector<unsigned long> mask = node_mask(mp->nodes);
  // maxnode counts bits, plus one (the kernel uses maxnode - 1 of them)
  unsigned long maxnode = mask.empty() ? 0 : mask.size() * kBits + 1;
  if (syscall(SYS_set_mempolicy, mp->mode | mp->flags, mask.empty() ? nullptr : mask.data(), maxnode) < 0)
    fail("memoryPolicy", "", errno,
         "set_mempolicy(mode " + std::to_string(mp->mode) + ", nodes \"" + mp->nodes + "\", flags " +
             std::to_string(mp->flags) + ")");
}

}  // namespace tsoci
