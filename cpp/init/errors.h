// Failures are thrown as Failure and turned into one {"type":"error"} line by the
// stage that caught them; QuietExit ends a stage without a message (someone else
// already reported, or the runtime is gone).
#pragma once
#include <string>

namespace tsoci {

struct Failure {
  std::string step;
  std::string path;
  int err;
  std::string message;
};

struct QuietExit {
  int code;
};

// "no such device (ENODEV)"
std::string errno_text(int err);

// message = what + ": " + errno_text(err)
[[noreturn]] void fail(const std::string& step, const std::string& path, int err,
                       const std::string& what);
// the message is used verbatim (phrases that callers match, e.g. exec lookup)
[[noreturn]] void fail_msg(const std::string& step, const std::string& path, int err,
                           const std::string& message);

}  // namespace tsoci
