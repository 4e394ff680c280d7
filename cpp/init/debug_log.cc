#include "debug_log.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace tsoci {

void debug_log(const Plan& plan, const std::string& msg) {
  if (!plan.debugLog.enabled) return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char when[64];
  size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);
  std::string line = plan.debugLog.json
                         ? nlohmann::json{{"level", "debug"}, {"msg", msg}, {"time", when}}.dump()
                         : "time=\"" + std::string(when) + "\" level=debug msg=" + nlohmann::json(msg).dump();
  line += "\n";
  int fd = 2;
  if (!plan.debugLog.file.empty()) fd = open(plan.debugLog.file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return;  // best effort, as tsoci's own log
  ssize_t ignored = write(fd, line.data(), line.size());
  (void)ignored;
  if (fd != 2) close(fd);
}

void debug_log_cpu_affinity(const Plan& plan) {
  if (!plan.debugLog.enabled) return;
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  if (sched_getaffinity(0, sizeof cpus, &cpus) < 0) return;
  unsigned long long mask = 0;
  for (int i = 0; i < 64; i++)
    if (CPU_ISSET(i, &cpus)) mask |= 1ULL << i;
  char text[64];
  snprintf(text, sizeof text, "nsexec[%d]: affinity: 0x%llx", static_cast<int>(getpid()), mask);
  debug_log(plan, text);
}

}  // namespace tsoci
