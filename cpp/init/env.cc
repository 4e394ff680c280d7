#include "env.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "fd.h"

namespace tsoci {

namespace {

// /etc/passwd as a regular file of sane size; anything else (absent, a fifo that would
// block, a device) reads as empty, the way runc treats a missing entry.
std::string read_passwd() {
  Fd fd(open("/etc/passwd", O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  struct stat st;
  if (!fd || fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (16 << 20)) return "";
  std::string text;
  char buf[8192];
  ssize_t n;
  while ((n = read(fd.get(), buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  return text;
}

}  // namespace

std::string home_from_passwd(const std::string& text, uint32_t uid) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    // name:password:uid:gid:gecos:home:shell
    std::vector<std::string> f;
    size_t i = 0;
    for (;;) {
      size_t c = line.find(':', i);
      f.push_back(line.substr(i, c == std::string::npos ? std::string::npos : c - i));
      if (c == std::string::npos) break;
      i = c + 1;
    }
    if (f.size() < 6 || f[2].empty() || f[2].find_first_not_of("0123456789") != std::string::npos) continue;
    if (std::strtoull(f[2].c_str(), nullptr, 10) == uid) return f[5];
  }
  return "/";
}

std::vector<std::string> env_with_home(const std::vector<std::string>& env, uint32_t uid) {
  for (auto& e : env)
    if (e.compare(0, 5, "HOME=") == 0) return env;
  std::vector<std::string> out = env;
  out.push_back("HOME=" + home_from_passwd(read_passwd(), uid));
  return out;
}

}  // namespace tsoci
