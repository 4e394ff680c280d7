#include "mount_sources.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <string>

#include "errors.h"
#include "fd.h"
#include "scm.h"

namespace tsoci {

namespace {

std::map<const Mount*, int> received;  // stage1 → stage2 (inherited over clone)

bool needs_fd(const Plan& plan, const Mount& m) {
  return (m.flags & MS_BIND) && !m.source.empty() && m.source[0] == '/' && !source_inside_rootfs(plan, m.source);
}

bool send_one(int chan, int fd) {
  char have = fd >= 0 ? 1 : 0;
  return send_with_fd(chan, &have, 1, fd) == 1;
}

// -1: none was sent; -2: the channel failed
int receive_one(int chan) {
  char have = 0;
  int fd = -1;
  if (recv_with_fd(chan, &have, 1, &fd) != 1) {
    if (fd >= 0) close(fd);
    return -2;
  }
  if (!have) {
    if (fd >= 0) close(fd);  // none was announced
    return -1;
  }
  return fd < 0 ? -2 : fd;
}

}  // namespace

bool source_inside_rootfs(const Plan& plan, const std::string& source) {
  const std::string& r = plan.rootfs;
  return !r.empty() && source.size() > r.size() && source.compare(0, r.size(), r) == 0 && source[r.size()] == '/';
}

bool wants_mount_sources(const Plan& plan) {
  if (plan.execMode || !plan.creates("user") || !plan.creates("mount")) return false;
  for (auto& m : plan.mounts)
    if (needs_fd(plan, m)) return true;
  return false;
}

void send_mount_sources(const Plan& plan, pid_t stage1, int procfd, int chan) {
  Fd self(openat(procfd, "self/ns/mnt", O_RDONLY | O_CLOEXEC));
  Fd cwd(open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  std::string target = std::to_string(stage1) + "/ns/mnt";
  Fd theirs(openat(procfd, target.c_str(), O_RDONLY | O_CLOEXEC));
  // in their mount namespace (a copy of ours), so the mounts the fds name are theirs
  bool joined = self && cwd && theirs && setns(theirs.get(), CLONE_NEWNS) == 0;
  for (auto& m : plan.mounts) {
    if (!needs_fd(plan, m)) continue;
    Fd fd;
    if (joined) fd = Fd(open(m.source.c_str(), O_PATH | O_CLOEXEC));
    if (!send_one(chan, fd.get())) break;
  }
  if (joined) {
    if (setns(self.get(), CLONE_NEWNS) < 0) fail("init", "", errno, "return to the host mount namespace");
    if (fchdir(cwd.get()) < 0) fail("init", "", errno, "fchdir back");
  }
}

void receive_mount_sources(const Plan& plan, int chan) {
  int min = 3 + plan.preserveFds;
  for (auto& m : plan.mounts) {
    if (!needs_fd(plan, m)) continue;
    int fd = receive_one(chan);
    if (fd == -2) throw QuietExit{1};  // stage0 is gone
    if (fd < 0) continue;
    if (fd < min) {
      int moved = fcntl(fd, F_DUPFD_CLOEXEC, min);
      close(fd);
      if (moved < 0) fail("mount", m.destination, errno, "move the fd of mount source " + m.source);
      fd = moved;
    }
    received[&m] = fd;
  }
}

std::string mount_source(const Mount& m) {
  auto it = received.find(&m);
  return it == received.end() ? m.source : "/proc/self/fd/" + std::to_string(it->second);
}

}  // namespace tsoci
