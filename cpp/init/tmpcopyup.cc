#include "tmpcopyup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <memory>

#include "errors.h"
#include "fd.h"

namespace tsoci {

namespace {

[[noreturn]] void copy_fail(const std::string& where, const std::string& rel, int err, const std::string& what) {
  fail("mount", where, err, "tmpcopyup: " + what + " " + where + "/" + rel);
}

// owner, then mode (chown clears set-id bits), then times: like the original
void copy_attrs(int toDir, const char* name, const struct stat& st, const std::string& where, const std::string& rel) {
  bool link = S_ISLNK(st.st_mode);
  if (fchownat(toDir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
    copy_fail(where, rel, errno, "chown");
  if (!link && fchmodat(toDir, name, st.st_mode & 07777, 0) < 0) copy_fail(where, rel, errno, "chmod");
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (utimensat(toDir, name, times, AT_SYMLINK_NOFOLLOW) < 0) copy_fail(where, rel, errno, "set times of");
}

void copy_file(int fromDir, int toDir, const char* name, const struct stat& st, const std::string& where,
               const std::string& rel) {
  Fd in(openat(fromDir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in) copy_fail(where, rel, errno, "open");
  Fd out(openat(toDir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) copy_fail(where, rel, errno, "create");
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = sendfile(out.get(), in.get(), nullptr, static_cast<size_t>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) copy_fail(where, rel, errno, "copy");
    if (n == 0) break;  // the file shrank meanwhile
    left -= n;
  }
}

void copy_tree(int fromDir, int toDir, const std::string& where, const std::string& prefix, int depth) {
  if (depth > 256) copy_fail(where, prefix, ELOOP, "copy");
  int dupfd = fcntl(fromDir, F_DUPFD_CLOEXEC, 0);
  if (dupfd < 0) copy_fail(where, prefix, errno, "read directory");
  std::unique_ptr<DIR, int (*)(DIR*)> dir(fdopendir(dupfd), closedir);
  if (!dir) {
    close(dupfd);
    copy_fail(where, prefix, errno, "read directory");
  }
  while (struct dirent* e = readdir(dir.get())) {
    const char* name = e->d_name;
    if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
    std::string rel = prefix.empty() ? name : prefix + "/" + name;
    struct stat st;
    if (fstatat(fromDir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) copy_fail(where, rel, errno, "stat");
    if (S_ISDIR(st.st_mode)) {
      if (mkdirat(toDir, name, 0700) < 0) copy_fail(where, rel, errno, "mkdir");
      Fd sub(openat(fromDir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) copy_fail(where, rel, errno, "open");
      Fd subTo(openat(toDir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!subTo) copy_fail(where, rel, errno, "open");
      copy_tree(sub.get(), subTo.get(), where, rel, depth + 1);
    } else if (S_ISREG(st.st_mode)) {
      copy_file(fromDir, toDir, name, st, where, rel);
    } else if (S_ISLNK(st.st_mode)) {
      char target[4096];
      ssize_t n = readlinkat(fromDir, name, target, sizeof target - 1);
      if (n < 0) copy_fail(where, rel, errno, "readlink");
      target[n] = '\0';
      if (symlinkat(target, toDir, name) < 0) copy_fail(where, rel, errno, "symlink");
    } else if (mknodat(toDir, name, st.st_mode, st.st_rdev) < 0) {  // fifo, socket, device
      copy_fail(where, rel, errno, "mknod");
    }
    copy_attrs(toDir, name, st, where, rel);
  }
}

}  // namespace

void copy_up(int fromDir, int toDir, const std::string& where) {
  copy_tree(fromDir, toDir, where, "", 0);
}

}  // namespace tsoci
