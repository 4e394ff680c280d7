#include "host_mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "errors.h"

namespace tsoci {

namespace {

using json = nlohmann::json;

int g_record = -1;

void write_line(int fd, const std::string& line, const std::string& file) {
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) fail("rootfs", file, w < 0 ? errno : EIO, "write host mount record " + file);
    p += w;
    left -= static_cast<size_t>(w);
  }
}

}  // namespace

Fd open_host_mount_record(const Plan& plan, int procfd) {
  char real[PATH_MAX];
  if (!realpath(plan.rootfs.c_str(), real)) fail("rootfs", plan.rootfs, errno, "resolve rootfs " + plan.rootfs);
  std::string rootfs(real);
  if (rootfs == "/" && (!plan.mounts.empty() || !plan.devices.empty() || !plan.symlinks.empty()))
    fail_msg("rootfs", plan.rootfs, EINVAL,
             "the rootfs is the host's / and the container has no mount namespace: its mounts, devices "
             "and links would replace the host's own");
  const std::string& file = plan.hostMountRecord;
  if (file.empty()) fail_msg("plan", "", EINVAL, "no mount namespace and no host mount record");
  std::string mntns;
  char link[256];
  ssize_t n = readlinkat(procfd, "self/ns/mnt", link, sizeof link - 1);
  if (n > 0) mntns.assign(link, static_cast<size_t>(n));
  Fd fd(open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) fail("rootfs", file, errno, "create host mount record " + file);
  write_line(fd.get(), json{{"version", 1}, {"rootfs", rootfs}, {"mntns", mntns}}.dump() + "\n", file);
  return fd;
}

void use_host_mount_record(int fd) { g_record = fd; }

bool host_mount_recording() { return g_record >= 0; }

void note_host_mount(int fd, const std::string& where) {
  if (g_record < 0) return;
  struct statx stx = {};
  if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0)
    fail("mount", where, errno, "statx " + where);
  if (!(stx.stx_mask & STATX_MNT_ID)) fail_msg("mount", where, ENOTSUP, "no mount id for " + where);
  char buf[PATH_MAX];
  std::string self = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = readlink(self.c_str(), buf, sizeof buf - 1);
  if (n < 0) fail("mount", where, errno, "readlink " + self);
  json line{{"id", stx.stx_mnt_id}, {"path", std::string(buf, static_cast<size_t>(n))}};
  write_line(g_record, line.dump() + "\n", "(host mount record)");
}

}  // namespace tsoci
