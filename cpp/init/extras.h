// The plan's process extras (issue 3): console size, scheduling, I/O priority, CPU
// affinity, personality and LSM labels. Kept apart from plan.h so that file only
// gains one member; parsed by parse_extras() from the same JSON as the rest.
#pragma once
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

namespace tsoci {

struct SchedAttr {
  uint32_t policy = 0;  // SCHED_*
  int32_t nice = 0;
  uint32_t priority = 0;
  uint64_t flags = 0;  // SCHED_FLAG_*
  uint64_t runtime = 0, deadline = 0, period = 0;
  bool cpusetCpus = false;  // linux.resources.cpu.cpus is set (EPERM then has a known cause)
};

struct IoPriority {
  int ioClass = 0;  // IOPRIO_CLASS_*
  int level = 0;
};

struct ProcessExtras {
  // process.consoleSize; applied when both are non-zero (like runc)
  uint32_t consoleHeight = 0, consoleWidth = 0;
  std::optional<SchedAttr> scheduler;
  std::optional<IoPriority> ioPriority;
  // process.execCPUAffinity (exec mode only); empty string: not set
  std::string cpuInitial, cpuFinal;
  std::string apparmorProfile, selinuxLabel;
  // linux.personality: persona | flags
  std::optional<unsigned long> personality;
};

// Reads plan.process.{consoleSize,scheduler,ioPriority,execCPUAffinity,apparmorProfile,
// selinuxLabel} and plan.personality. Throws nlohmann exceptions on bad types (the
// caller turns them into a plan failure).
void parse_extras(const nlohmann::json& plan, ProcessExtras& out);

}  // namespace tsoci
