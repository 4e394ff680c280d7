#pragma once
// The names of the resource limits, as the spec and runc's messages spell them: tsoci-init's
// setrlimit errors and the warm worker's refusals (it takes the caller's limits).
#include <sys/resource.h>

namespace tsoci {

inline const char* rlimit_name(int r) {
  static const char* const names[] = {"RLIMIT_CPU",     "RLIMIT_FSIZE",  "RLIMIT_DATA",   "RLIMIT_STACK",
                                      "RLIMIT_CORE",    "RLIMIT_RSS",    "RLIMIT_NPROC",  "RLIMIT_NOFILE",
                                      "RLIMIT_MEMLOCK", "RLIMIT_AS",     "RLIMIT_LOCKS",  "RLIMIT_SIGPENDING",
                                      "RLIMIT_MSGQUEUE", "RLIMIT_NICE",  "RLIMIT_RTPRIO", "RLIMIT_RTTIME"};
  return r >= 0 && r < static_cast<int>(sizeof names / sizeof *names) ? names[r] : "RLIMIT_?";
}

}  // namespace tsoci
