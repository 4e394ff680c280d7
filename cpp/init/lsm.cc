#include "lsm.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "errors.h"
#include "fd.h"

namespace tsoci {

namespace {

void write_attr(int procfd, const std::string& rel, const std::string& value, const char* step,
                const std::string& what) {
  Fd fd(openat(procfd, rel.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) fail(step, "/proc/" + rel, errno, what + ": open /proc/" + rel);
  ssize_t n;
  do {
    n = write(fd.get(), value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) fail(step, "/proc/" + rel, errno, what + ": write /proc/" + rel);
  if (static_cast<size_t>(n) != value.size())
    fail_msg(step, "/proc/" + rel, EIO, what + ": short write to /proc/" + rel);
}

}  // namespace

void apply_lsm_labels(const Plan& plan, int procfd) {
  const ProcessExtras& x = plan.extras;
  if (!x.apparmorProfile.empty()) {
    // the LSM-specific file (Linux 5.8+, stacking) when present, else the shared one
    std::string rel = "thread-self/attr/apparmor/exec";
    if (faccessat(procfd, rel.c_str(), F_OK, 0) < 0) rel = "thread-self/attr/exec";
    write_attr(procfd, rel, "exec " + x.apparmorProfile, "apparmor",
               "unable to apply apparmor profile \"" + x.apparmorProfile + "\"");
  }
  if (!x.selinuxLabel.empty())
    write_attr(procfd, "thread-self/attr/exec", x.selinuxLabel, "selinux",
               "can't set process label \"" + x.selinuxLabel + "\"");
}

}  // namespace tsoci
