#include "namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <vector>

#include "errors.h"
#include "fault.h"
#include "fd.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace tsoci {

int ns_clone_flag(const std::string& t) {
  if (t == "user") return CLONE_NEWUSER;
  if (t == "pid") return CLONE_NEWPID;
  if (t == "network") return CLONE_NEWNET;
  if (t == "ipc") return CLONE_NEWIPC;
  if (t == "uts") return CLONE_NEWUTS;
  if (t == "mount") return CLONE_NEWNS;
  if (t == "cgroup") return CLONE_NEWCGROUP;
  if (t == "time") return CLONE_NEWTIME;
  fail_msg("namespace", "", EINVAL, "unknown namespace type \"" + t + "\"");
}

namespace {

struct Joined {
  std::string type, path;
  Fd fd;
};

int join_rank(const std::string& t) {
  if (t == "user") return 0;
  if (t == "mount") return 2;
  return 1;
}

}  // namespace

bool join_namespaces(const Plan& plan) {
  std::vector<Joined> joins;
  for (auto& n : plan.namespaces) {
    if (n.path.empty()) continue;
    ns_clone_flag(n.type);  // validates the type
    int fd = open(n.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("namespace", n.path, errno, "open " + n.type + " namespace " + n.path);
    joins.push_back({n.type, n.path, Fd(fd)});
  }
  // Like runc: the namespaces other than user (and mount, always last) are tried before
  // the user namespace, while we still have the host's privileges (a joined userns need
  // not own them); those refused with EPERM are tried again once in the userns (rootless).
  bool joinedUser = false;
  auto join = [&](Joined& j, bool retryLater) {
    if (!j.fd) return;
    if (setns(j.fd.get(), ns_clone_flag(j.type)) < 0) {
      if (retryLater && errno == EPERM) return;
      fail("namespace", j.path, errno, "setns " + j.type + " namespace " + j.path);
    }
    j.fd.reset();
    if (j.type == "user") joinedUser = true;
    TSOCI_FAULT_POINT("join:" + j.type);
  };
  for (auto& j : joins)
    if (join_rank(j.type) == 1) join(j, true);
  for (int rank = 0; rank <= 2; rank++)
    for (auto& j : joins)
      if (join_rank(j.type) == rank) join(j, false);
  return joinedUser;
}

int new_namespace_flags(const Plan& plan) {
  int flags = 0;
  for (auto& n : plan.namespaces)
    if (n.path.empty() && n.type != "user") flags |= ns_clone_flag(n.type);
  return flags;
}

void write_time_offsets(const Plan& plan, int procfd) {
  if (plan.timeOffsets.empty() || !plan.creates("time")) return;
  Fd fd(openat(procfd, "self/timens_offsets", O_WRONLY | O_CLOEXEC));
  if (!fd) fail("timens", "/proc/self/timens_offsets", errno, "open /proc/self/timens_offsets");
  for (auto& t : plan.timeOffsets) {
    // one offset per write: the kernel parses each write as a whole
    std::string line = t.clock + " " + std::to_string(t.secs) + " " + std::to_string(t.nanosecs) + "\n";
    if (write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()))
      fail("timens", "/proc/self/timens_offsets", errno, "write time offset \"" + t.clock + "\"");
  }
}

}  // namespace tsoci
