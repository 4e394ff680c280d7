#include "sched.h"

#include <errno.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "errors.h"

namespace tsoci {

namespace {

// struct sched_attr, SCHED_ATTR_SIZE_VER0 (glibc < 2.41 does not declare it)
struct KernelSchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
};
static_assert(sizeof(KernelSchedAttr) == 48, "sched_attr VER0 is 48 bytes");

constexpr int IOPRIO_WHO_PROCESS = 1;
constexpr int IOPRIO_CLASS_SHIFT = 13;
constexpr int MAX_CPU = 64 * 1024;

// A heap cpu set big enough for the highest CPU listed (CPU_ALLOC), owned here.
class CpuSet {
 public:
  explicit CpuSet(int maxCpu) : n_(maxCpu + 1), set_(CPU_ALLOC(n_)), size_(CPU_ALLOC_SIZE(n_)) {
    if (set_) CPU_ZERO_S(size_, set_);
  }
  ~CpuSet() {
    if (set_) CPU_FREE(set_);
  }
  CpuSet(const CpuSet&) = delete;
  CpuSet& operator=(const CpuSet&) = delete;
  bool ok() const { return set_ != nullptr; }
  void add(int cpu) { CPU_SET_S(cpu, size_, set_); }
  void fill() {
    for (int c = 0; c < n_; c++) add(c);
  }
  int apply() const { return sched_setaffinity(0, size_, set_) < 0 ? errno : 0; }

 private:
  int n_;
  cpu_set_t* set_;
  size_t size_;
};

bool parse_uint(const std::string& s, int& out) {
  if (s.empty() || s.size() > 6) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  out = atoi(s.c_str());
  return out <= MAX_CPU;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// Sets the affinity to `list`; returns errno (0 on success); throws on a malformed list.
int set_affinity(const std::string& list, const char* which) {
  std::string why;
  std::vector<int> cpus;
  if (!parse_cpu_list(list, why, cpus))
    fail_msg("cpuAffinity", "", EINVAL, std::string("execCPUAffinity.") + which + " \"" + list + "\": " + why);
  int maxCpu = 0;
  for (int c : cpus) maxCpu = c > maxCpu ? c : maxCpu;
  CpuSet set(maxCpu);
  if (!set.ok()) return ENOMEM;
  for (int c : cpus) set.add(c);
  return set.apply();
}

}  // namespace

bool parse_cpu_list(const std::string& list, std::string& why, std::vector<int>& cpus) {
  size_t i = 0;
  while (i <= list.size()) {
    size_t j = list.find(',', i);
    if (j == std::string::npos) j = list.size();
    std::string part = trim(list.substr(i, j - i));
    i = j + 1;
    if (part.empty()) continue;  // "0,,1" and a trailing comma are accepted, like runc
    size_t dash = part.find('-');
    int lo, hi;
    if (!parse_uint(trim(part.substr(0, dash)), lo) ||
        (dash != std::string::npos && !parse_uint(trim(part.substr(dash + 1)), hi))) {
      why = "invalid CPU \"" + part + "\"";
      return false;
    }
    if (dash == std::string::npos) hi = lo;
    if (lo > hi) {
      why = "invalid range \"" + part + "\"";
      return false;
    }
    for (int c = lo; c <= hi; c++) cpus.push_back(c);
  }
  if (cpus.empty()) {
    why = "no CPUs listed";
    return false;
  }
  return true;
}

void apply_initial_affinity(const Plan& plan) {
  const std::string& list = plan.extras.cpuInitial;
  if (list.empty()) return;
  int err = set_affinity(list, "initial");
  if (err) fail("cpuAffinity", "", err, "set initial CPU affinity \"" + list + "\"");
}

void apply_scheduling(const Plan& plan) {
  const ProcessExtras& x = plan.extras;
  if (x.personality && personality(*x.personality) < 0)
    fail("personality", "", errno, "set_personality " + std::to_string(*x.personality));
  if (x.scheduler) {
    const SchedAttr& s = *x.scheduler;
    KernelSchedAttr a = {sizeof(KernelSchedAttr), s.policy, s.flags, s.nice, s.priority,
                         s.runtime, s.deadline, s.period};
    if (syscall(SYS_sched_setattr, 0, &a, 0) < 0) {
      // runc's words: the kernel refuses SCHED_DEADLINE in a cpuset that is not a root domain
      if (errno == EPERM && s.cpusetCpus)
        fail("scheduler", "", errno, "process scheduler can't be used together with AllowedCPUs");
      fail("scheduler", "", errno, "error setting scheduler (policy " + std::to_string(s.policy) + ")");
    }
  }
  if (x.ioPriority) {
    int prio = (x.ioPriority->ioClass << IOPRIO_CLASS_SHIFT) | x.ioPriority->level;
    if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, prio) < 0)
      fail("ioPriority", "", errno, "failed to set io priority (class " + std::to_string(x.ioPriority->ioClass) +
                                        ", priority " + std::to_string(x.ioPriority->level) + ")");
  }
}

void apply_final_affinity(const Plan& plan) {
  const ProcessExtras& x = plan.extras;
  if (!x.cpuFinal.empty()) {
    int err = set_affinity(x.cpuFinal, "final");
    if (err) fail("cpuAffinity", "", err, "set final CPU affinity \"" + x.cpuFinal + "\"");
    return;
  }
  if (!x.cpuInitial.empty()) return;  // only initial: it stays (like runc)
  // Every possible CPU: the kernel clamps to its CPUs and the task's cpuset. Best effort.
  CpuSet all(MAX_CPU - 1);
  if (all.ok()) {
    all.fill();
    all.apply();
  }
}

}  // namespace tsoci
