// Debug lines from tsoci-init itself (`tsoci --debug`), in the form tsoci's own debug log has:
// logrus text (`time="…" level=debug msg="…"`) or JSON, appended to the --log file or written
// to stderr. Only what runc's nsexec logs that tests read: the initial CPU affinity.
#pragma once
#include <string>

#include "plan.h"

namespace tsoci {

void debug_log(const Plan& plan, const std::string& msg);

// runc's nsexec line "affinity: 0x<mask of the first 64 CPUs>", as "nsexec[<pid>]: affinity: 0x…"
void debug_log_cpu_affinity(const Plan& plan);

}  // namespace tsoci
