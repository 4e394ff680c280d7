#include "errors.h"

#include <cctype>
#include <cstring>

namespace tsoci {

std::string errno_text(int err) {
  // Go-style lower-case text (what runc prints), plus the symbolic name.
  const char* desc = strerrordesc_np(err);
  const char* name = strerrorname_np(err);
  std::string s = desc ? desc : ("errno " + std::to_string(err));
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  if (name) s += std::string(" (") + name + ")";
  return s;
}

void fail(const std::string& step, const std::string& path, int err, const std::string& what) {
  throw Failure{step, path, err, what + ": " + errno_text(err)};
}

void fail_msg(const std::string& step, const std::string& path, int err,
              const std::string& message) {
  throw Failure{step, path, err, message};
}

}  // namespace tsoci
