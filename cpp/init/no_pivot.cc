#include "no_pivot.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <sstream>
#include <vector>

#include "errors.h"

namespace tsoci {

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo
std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3') {
      out += static_cast<char>(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string read_mountinfo() {
  int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("pivot_root", "/proc/self/mountinfo", errno, "open /proc/self/mountinfo");
  std::string text;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      fail("pivot_root", "/proc/self/mountinfo", err, "read /proc/self/mountinfo");
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return text;
}

// Mount points of the full proc and sysfs mounts outside rootfs, in mountinfo order.
std::vector<std::string> full_procfs_mounts(const std::string& rootfs) {
  std::vector<std::string> out;
  std::istringstream lines(read_mountinfo());
  std::string line;
  while (std::getline(lines, line)) {
    // id parent major:minor root mountpoint options [optional...] - fstype source superopts
    std::istringstream f(line);
    std::string id, parent, dev, root, point, word;
    if (!(f >> id >> parent >> dev >> root >> point)) continue;
    while (f >> word && word != "-") {
    }
    std::string fstype;
    if (!(f >> fstype)) continue;
    point = unescape(point);
    // runc's test is a plain prefix test on the mount point
    if (root != "/" || (fstype != "proc" && fstype != "sysfs") || point.compare(0, rootfs.size(), rootfs) == 0) continue;
    out.push_back(point);
  }
  return out;
}

}  // namespace

void hide_host_procfs(const std::string& rootfs) {
  for (const auto& p : full_procfs_mounts(rootfs)) {
    // umount events must not reach the host
    if (mount("", p.c_str(), nullptr, MS_SLAVE | MS_REC, nullptr) < 0) {
      if (errno == ENOENT) continue;  // under a mount already detached
      fail("pivot_root", p, errno, "make " + p + " rslave");
    }
    if (umount2(p.c_str(), MNT_DETACH) == 0) continue;
    if (errno != EINVAL && errno != EPERM) fail("pivot_root", p, errno, "unmount " + p);
    // cannot unmount it (a locked mount): cover it
    if (mount("tmpfs", p.c_str(), "tmpfs", 0, nullptr) < 0) fail("pivot_root", p, errno, "cover " + p + " with a tmpfs");
  }
}

}  // namespace tsoci
