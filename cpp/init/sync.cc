#include "sync.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

namespace tsoci {

std::string json_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          char b[8];
          snprintf(b, sizeof b, "\\u%04x", c);
          out += b;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

bool Sync::read_line(std::string& line) {
  for (;;) {
    auto nl = buf_.find('\n');
    if (nl != std::string::npos) {
      line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return true;
    }
    char chunk[8192];
    ssize_t n = ::read(fd_.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf_.append(chunk, static_cast<size_t>(n));
  }
}

bool Sync::send(const std::string& line) {
  std::string msg = line + "\n";
  size_t off = 0;
  while (off < msg.size()) {
    // MSG_NOSIGNAL: a vanished runtime must not kill us with SIGPIPE.
    ssize_t n = ::send(fd_.get(), msg.data() + off, msg.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == ENOTSOCK) n = ::write(fd_.get(), msg.data() + off, msg.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

bool Sync::send_type(const char* type) {
  return send(std::string("{\"type\":\"") + type + "\"}");
}

bool Sync::send_pid(pid_t pid) {
  return send("{\"type\":\"pid\",\"pid\":" + std::to_string(pid) + "}");
}

bool Sync::send_error(const Failure& f) {
  return send("{\"type\":\"error\",\"step\":\"" + json_escape(f.step) + "\",\"path\":\"" +
              json_escape(f.path) + "\",\"errno\":" + std::to_string(f.err) +
              ",\"message\":\"" + json_escape(f.message) + "\"}");
}

bool Sync::expect(const char* type) {
  std::string line;
  if (!read_line(line)) return false;
  auto j = nlohmann::json::parse(line, nullptr, false);
  return j.is_object() && j.value("type", "") == type;
}

}  // namespace tsoci
