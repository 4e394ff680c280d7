#include "cwd_check.h"

#include <errno.h>
#include <limits.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "errors.h"

namespace tsoci {

void ensure_cwd_inside_root(const std::string& cwd) {
  // The raw syscall: for a directory outside the root the kernel returns a path
  // starting with "(unreachable)" (glibc would turn that into ENOENT).
  char buf[PATH_MAX + 1];
  long n = syscall(SYS_getcwd, buf, sizeof buf);
  if (n < 0) {
    if (errno == ENAMETOOLONG) return;  // deeper than PATH_MAX: reached from the root anyway
    fail("chdir", cwd, errno, "getcwd after chdir to cwd (\"" + cwd + "\")");
  }
  if (n == 0 || buf[0] != '/')
    fail_msg("chdir", cwd, EPERM,
             "cwd (\"" + cwd + "\") set in config.json is outside the container's root: operation not permitted");
}

}  // namespace tsoci
