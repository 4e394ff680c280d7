#include "extras.h"

#include <nlohmann/json.hpp>

namespace tsoci {

namespace {

bool has(const nlohmann::json& j, const char* key) { return j.contains(key) && !j.at(key).is_null(); }

}  // namespace

void parse_extras(const nlohmann::json& plan, ProcessExtras& out) {
  if (has(plan, "personality")) out.personality = plan.at("personality").get<unsigned long>();
  if (!has(plan, "process")) return;
  const auto& p = plan.at("process");
  if (has(p, "consoleSize")) {
    const auto& c = p.at("consoleSize");
    out.consoleHeight = c.value("height", 0u);
    out.consoleWidth = c.value("width", 0u);
  }
  if (has(p, "scheduler")) {
    const auto& s = p.at("scheduler");
    SchedAttr a;
    a.policy = s.value("policy", 0u);
    a.nice = s.value("nice", 0);
    a.priority = s.value("priority", 0u);
    a.flags = s.value("flags", uint64_t(0));
    a.runtime = s.value("runtime", uint64_t(0));
    a.deadline = s.value("deadline", uint64_t(0));
    a.period = s.value("period", uint64_t(0));
    a.cpusetCpus = s.value("cpusetCpus", false);
    out.scheduler = a;
  }
  if (has(p, "ioPriority")) {
    const auto& io = p.at("ioPriority");
    out.ioPriority = IoPriority{io.at("class").get<int>(), io.value("priority", 0)};
  }
  if (has(p, "execCPUAffinity")) {
    const auto& a = p.at("execCPUAffinity");
    out.cpuInitial = a.value("initial", std::string());
    out.cpuFinal = a.value("final", std::string());
  }
  out.apparmorProfile = p.value("apparmorProfile", std::string());
  out.selinuxLabel = p.value("selinuxLabel", std::string());
}

}  // namespace tsoci
