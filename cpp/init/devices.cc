#include "devices.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "errors.h"
#include "host_mounts.h"

namespace tsoci {

namespace {

// Parent directory (created, resolved safely) and last component of `path`.
std::pair<Fd, std::string> open_parent(const Root& root, const std::string& path, const char* step) {
  auto slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "/" : path.substr(0, slash);
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.empty() || name == "." || name == "..")
    fail_msg(step, path, EINVAL, "invalid path " + root.where(path));
  return {open_in_root(root, dir.empty() ? "/" : dir, Create::Dir, step), name};
}

// An empty regular file with the host's node bind-mounted over it: what a user
// namespace can do instead of mknod.
void bind_device(const Root& root, int dirfd, const std::string& name, const Device& d) {
  const std::string& src = d.bindFrom.empty() ? d.path : d.bindFrom;
  int r = openat(dirfd, name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0000);
  if (r >= 0) close(r);
  else if (errno != EEXIST) fail("devices", d.path, errno, "create " + root.where(d.path));
  Fd dst(openat(dirfd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!dst) fail("devices", d.path, errno, "open " + root.where(d.path));
  struct stat st;
  if (fstat(dst.get(), &st) < 0 || S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode))
    fail_msg("devices", d.path, ENOTSUP, "cannot bind device over " + root.where(d.path));
  if (mount(src.c_str(), fd_path(dst.get()).c_str(), nullptr, MS_BIND, nullptr) < 0)
    fail("devices", d.path, errno, "bind device " + src + " to " + root.where(d.path));
  Fd top(openat(dirfd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));  // the new mount
  if (!top) fail("devices", d.path, errno, "open " + root.where(d.path));
  note_host_mount(top.get(), root.where(d.path));  // no mount namespace: for delete
}

}  // namespace

void create_devices(const Plan& plan, const Root& root) {
  for (auto& d : plan.devices) {
    auto [dir, name] = open_parent(root, d.path, "devices");
    if (!d.bindFrom.empty()) {
      bind_device(root, dir.get(), name, d);
      continue;
    }
    mode_t type = d.type == 'b' ? S_IFBLK : d.type == 'p' ? S_IFIFO : S_IFCHR;
    mode_t perm = d.fileMode & 07777;
    if (mknodat(dir.get(), name.c_str(), type | perm, makedev(d.major, d.minor)) < 0) {
      if (errno == EEXIST) continue;  // keep what the image or a mount provides (as runc)
      if (errno == EPERM) {
        bind_device(root, dir.get(), name, d);
        continue;
      }
      fail("devices", d.path, errno, "mknod " + root.where(d.path));
    }
    // the umask may have trimmed the mode bits
    if (fchmodat(dir.get(), name.c_str(), perm, 0) < 0)
      fail("devices", d.path, errno, "chmod " + root.where(d.path));
    if (fchownat(dir.get(), name.c_str(), d.uid, d.gid, AT_SYMLINK_NOFOLLOW) < 0)
      fail("devices", d.path, errno, "chown " + root.where(d.path));
  }
}

void create_symlinks(const Plan& plan, const Root& root) {
  for (auto& s : plan.symlinks) {
    auto [dir, name] = open_parent(root, s.path, "symlinks");
    if (symlinkat(s.target.c_str(), dir.get(), name.c_str()) < 0 && errno != EEXIST)
      fail("symlinks", s.path, errno, "symlink " + root.where(s.path) + " -> " + s.target);
  }
}

}  // namespace tsoci
