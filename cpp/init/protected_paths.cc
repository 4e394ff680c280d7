#include "protected_paths.h"

#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "errors.h"
#include "remount.h"

namespace tsoci {

void readonly_paths(const Plan& plan) {
  for (auto& p : plan.readonlyPaths) {
    if (mount(p.c_str(), p.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
      if (errno == ENOENT) continue;
      fail("readonlyPaths", p, errno, "bind " + p + " onto itself");
    }
    unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY | (mount_flags_of(p) & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME));
    if (mount(p.c_str(), p.c_str(), nullptr, flags, nullptr) < 0)
      fail("readonlyPaths", p, errno, "remount " + p + " read-only");
  }
}

namespace {

// an empty read-only tmpfs; some kernels reject nr_inodes=1
bool mask_dir(const std::string& p) {
  return mount("tmpfs", p.c_str(), "tmpfs", MS_RDONLY, "nr_blocks=1,nr_inodes=1") == 0 ||
         mount("tmpfs", p.c_str(), "tmpfs", MS_RDONLY, "nr_blocks=1,nr_inodes=2") == 0;
}

}  // namespace

void masked_paths(const Plan& plan) {
  const std::string* shared = nullptr;  // the first masked directory: its tmpfs is bound over the others
  for (auto& p : plan.maskedPaths) {
    struct stat st;
    if (stat(p.c_str(), &st) < 0) {
      if (errno == ENOENT) continue;
      fail("maskedPaths", p, errno, "stat masked path " + p);
    }
    if (!S_ISDIR(st.st_mode)) {
      if (mount("/dev/null", p.c_str(), nullptr, MS_BIND, nullptr) < 0)
        fail("maskedPaths", p, errno, "mask " + p + " with /dev/null");
      continue;
    }
    // a bind keeps the source's read-only flag; if it fails, a tmpfs of its own
    if (shared && mount(shared->c_str(), p.c_str(), nullptr, MS_BIND, nullptr) == 0) continue;
    if (!mask_dir(p)) fail("maskedPaths", p, errno, "mask directory " + p);
    if (!shared) shared = &p;
  }
}

}  // namespace tsoci
