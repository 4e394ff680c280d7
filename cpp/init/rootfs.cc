#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "devices.h"
#include "hooks.h"
#include "host_mounts.h"
#include "mount_ext.h"
#include "mount_sources.h"
#include "no_pivot.h"
#include "errors.h"
#include "fault.h"
#include "protected_paths.h"
#include "remount.h"
#include "tmpcopyup.h"

namespace tsoci {

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string c = path.substr(i, j - i);
    if (!c.empty() && c != ".") out.push_back(c);
    i = j + 1;
  }
  return out;
}

int openat2_in_root(int rootfd, const std::string& rel, uint64_t flags) {
  struct open_how how = {};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0; attempt < 32; attempt++) {
    // EAGAIN: a concurrent rename/mount was seen; the kernel asks us to retry.
    int fd = static_cast<int>(syscall(SYS_openat2, rootfd, rel.c_str(), &how, sizeof how));
    if (fd >= 0 || errno != EAGAIN) return fd;
  }
  return -1;
}

// Like runc: proc and sysfs go on a directory, never through a symlink (or onto a file)
// that the image put in their place (CVE-2019-19921, CVE-2023-27561).
void require_ordinary_dir(const Root& root, const Mount& m) {
  auto slash = m.destination.find_last_of('/');
  std::string name = m.destination.substr(slash + 1);
  if (name.empty()) return;
  Fd parent = open_in_root(root, m.destination.substr(0, slash), Create::Dir, "mount");
  struct stat st;
  if (fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return;
    fail("mount", m.destination, errno, "stat " + root.where(m.destination));
  }
  const std::string& fs = m.replaces.empty() ? m.type : m.replaces;
  if (!S_ISDIR(st.st_mode))
    fail_msg("mount", m.destination, ENOTDIR,
             "error mounting \"" + m.source + "\" to rootfs at \"" + m.destination + "\": filesystem \"" + fs +
                 "\" must be mounted on ordinary directory");
}

std::string readlink_fd(int fd) {
  char buf[4096];
  ssize_t n = readlink(fd_path(fd).c_str(), buf, sizeof buf - 1);
  return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

// runc's checkProcMount: nothing is mounted over the container's /proc but a procfs, and
// nothing inside it but the files lxcfs emulates (a mount over /proc/self/attr or
// /proc/sys would defeat the LSM and the read-only paths). Paths as resolved.
void check_proc_mount(const Root& root, const Mount& m, int dst) {
  std::string proc = readlink_fd(root.fd) + "/proc";
  std::string at = readlink_fd(dst);
  if (at.compare(0, proc.size(), proc) != 0 || (at.size() > proc.size() && at[proc.size()] != '/')) return;
  std::string rel = at.substr(proc.size());
  std::string prefix = "error mounting \"" + m.source + "\" to rootfs at \"" + m.destination + "\": ";
  if (rel.empty()) {
    struct statfs sf;
    bool procSource = (m.flags & MS_BIND) && statfs(mount_source(m).c_str(), &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
    if (m.type == "proc" || procSource) return;
    fail_msg("mount", m.destination, EPERM, prefix + "\"" + at + "\" cannot be mounted because it is not of type proc");
  }
  static const char* const lxcfs[] = {"/cpuinfo", "/diskstats", "/meminfo", "/stat", "/swaps", "/uptime",
                                      "/loadavg", "/slabinfo", "/sys/kernel/ns_last_pid", "/sys/crypto/fips_enabled"};
  for (const char* ok : lxcfs)
    if (rel == ok) return;
  fail_msg("mount", m.destination, EPERM, prefix + "\"" + at + "\" cannot be mounted because it is inside /proc");
}

// runc: a tmpfs on an existing directory takes its mode (an explicit mode= comes later
// in the data and wins); on a directory created for it, the tmpfs default (1777).
std::string tmpfs_data(const Mount& m, int dst, bool created) {
  struct stat st;
  if (created || fstat(dst, &st) < 0) return m.data;
  char mode[16];
  snprintf(mode, sizeof mode, "mode=%04o", st.st_mode & 07777);
  return m.data.empty() ? std::string(mode) : std::string(mode) + "," + m.data;
}

void mount_entry(const Root& root, const Mount& m, std::vector<const Mount*>& deferredRo) {
  if (m.type == "proc" || m.type == "sysfs" || !m.replaces.empty()) require_ordinary_dir(root, m);
  bool created = false;
  Fd dst = open_in_root(root, m.destination, m.createFile ? Create::File : Create::Dir, "mount", &created);
  check_proc_mount(root, m, dst.get());
  // tmpcopyup: the covered directory stays readable through an fd opened before the mount
  Fd below;
  if (m.tmpcopyup) {
    below.reset(openat(dst.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!below) fail("mount", m.destination, errno, "tmpcopyup: open " + root.where(m.destination));
  }
  std::string tmpfsData = m.type == "tmpfs" ? tmpfs_data(m, dst.get(), created) : m.data;
  unsigned long flags = m.flags;
  // Like runc: a read-only tmpfs (or /dev) is mounted rw and made ro after pivot_root,
  // so that later mounts and devices can still be created beneath it.
  bool defer = !(flags & MS_BIND) && (flags & MS_RDONLY) && (m.type == "tmpfs" || m.destination == "/dev");
  if (defer) {
    flags &= ~MS_RDONLY;
    deferredRo.push_back(&m);
  }
  const char* type = (m.type == "bind" || m.type.empty()) ? nullptr : m.type.c_str();
  const char* data = tmpfsData.empty() ? nullptr : tmpfsData.c_str();
  // a bind source opened by stage0 (user namespace): mounted through its fd
  if (m.ext.idmap) attach_idmapped_mount(m, dst.get(), root.where(m.destination));
  else if (mount(mount_source(m).c_str(), fd_path(dst.get()).c_str(), type, flags, data) < 0)
    fail("mount", m.destination, errno, "mount " + m.source + " to " + root.where(m.destination));
  bool rebind = (m.flags & MS_BIND) && (m.remountFlags || m.clearedFlags);
  bool more = rebind || m.remountFlags || !m.propagationFlags.empty() || m.ext.hasRecursiveAttrs;
  if (!more && !m.tmpcopyup && !host_mount_recording()) return;
  // dst still names the covered directory: re-resolve to reach the new mount's root.
  Fd top = open_in_root(root, m.destination, Create::None, "mount");
  if (m.tmpcopyup) {
    Fd into(openat(top.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!into) fail("mount", m.destination, errno, "tmpcopyup: open the new tmpfs at " + root.where(m.destination));
    copy_up(below.get(), into.get(), m.destination);
  }
  note_host_mount(top.get(), root.where(m.destination));  // no mount namespace: for delete
  if (!more) return;

  std::string target = fd_path(top.get());
  if (rebind) {
    bind_remount(m, target, root.where(m.destination));
  } else if (m.remountFlags) {
    int err = remount(target, m.remountFlags);
    if (err) fail("mount", m.destination, err, "remount " + root.where(m.destination));
  }
  for (unsigned long p : m.propagationFlags)
    if (mount("", target.c_str(), nullptr, p, nullptr) < 0)
      fail("mount", m.destination, errno, "set propagation of " + root.where(m.destination));
  apply_recursive_attrs(m, top.get(), root.where(m.destination));  // rro, rnosuid, … (AT_RECURSIVE)
}

// pivot_root fails if the rootfs' parent mount is shared, and a shared parent would
// leak our self-bind to the host: walk up to the mount point containing the rootfs.
void make_parent_unshared(std::string path, unsigned long prop) {
  unsigned long flags = (prop & MS_SLAVE) ? MS_SLAVE : MS_PRIVATE;
  for (;;) {
    if (mount("", path.c_str(), nullptr, flags, nullptr) == 0) return;
    if (errno != EINVAL || path == "/")
      fail("rootfs", path, errno, "make parent mount of the rootfs private: " + path);
    auto slash = path.find_last_of('/');
    path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
  }
}

void pivot(const Plan& plan, int rootfd) {
  if (fchdir(rootfd) < 0) fail("pivot_root", plan.rootfs, errno, "chdir to rootfs " + plan.rootfs);
  if (plan.noPivot) {
    hide_host_procfs(plan.rootfs);
    if (mount(plan.rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr) < 0)
      fail("pivot_root", plan.rootfs, errno, "move rootfs " + plan.rootfs + " to /");
    if (chroot(".") < 0) fail("pivot_root", plan.rootfs, errno, "chroot to " + plan.rootfs);
  } else {
    Fd oldroot(open("/", O_DIRECTORY | O_PATH | O_CLOEXEC));
    if (!oldroot) fail("pivot_root", "/", errno, "open old root");
    // pivot_root(".", ".") stacks the old root on top of the new one; unmount it.
    if (syscall(SYS_pivot_root, ".", ".") < 0)
      fail("pivot_root", plan.rootfs, errno, "pivot_root to " + plan.rootfs);
    if (fchdir(oldroot.get()) < 0) fail("pivot_root", "/", errno, "chdir to old root");
    // rslave first, so the detach below cannot propagate to the host
    if (mount("", ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
      fail("pivot_root", "/", errno, "make old root rslave");
    if (umount2(".", MNT_DETACH) < 0) fail("pivot_root", "/", errno, "unmount old root");
  }
  if (chdir("/") < 0) fail("pivot_root", "/", errno, "chdir to new root");
}

// The host's mount namespace: the rootfs stays where it is in the host's mount table.
void jail(const Plan& plan, int rootfd) {
  if (fchdir(rootfd) < 0) fail("pivot_root", plan.rootfs, errno, "chdir to rootfs " + plan.rootfs);
  if (chroot(".") < 0) fail("pivot_root", plan.rootfs, errno, "chroot to " + plan.rootfs);
  if (chdir("/") < 0) fail("pivot_root", "/", errno, "chdir to new root");
}

void mkdir_all(const std::string& path) {
  std::string cur;
  for (auto& c : split_path(path)) {
    cur += "/" + c;
    mkdir(cur.c_str(), 0755);  // errors surface as the chdir error later
  }
}

void write_sysctls(const Plan& plan) {
  for (auto& [key, value] : plan.sysctl) {
    std::string path = "/proc/sys/" + key;
    for (size_t i = 10; i < path.size(); i++)
      if (path[i] == '.') path[i] = '/';
    Fd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC | O_TRUNC));
    if (!fd) fail("sysctl", path, errno, "open sysctl " + key);
    if (write(fd.get(), value.data(), value.size()) < 0)
      fail("sysctl", path, errno, "write sysctl " + key + "=" + value);
  }
}

// Like runc's reOpenDevNull: stdio that is /dev/null (conmon's stdin) is reopened from the
// container's own /dev/null, so no fd refers to a host mount (CRIU cannot dump one).
void reopen_dev_null() {
  Fd devnull(open("/dev/null", O_RDWR | O_CLOEXEC));
  struct stat null_st;
  if (!devnull || fstat(devnull.get(), &null_st) < 0 || !S_ISCHR(null_st.st_mode)) return;
  for (int fd = 0; fd < 3; fd++) {
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != null_st.st_rdev) continue;
    if (dup3(devnull.get(), fd, 0) < 0) fail("rootfs", "/dev/null", errno, "reopen /dev/null as fd " + std::to_string(fd));
  }
}

}  // namespace

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

namespace {

Fd open_in_root_at(const Root& root, const std::string& path, Create create, const char* step,
                   int depth, bool* created) {
  if (depth > 40) fail(step, path, ELOOP, "resolve " + root.where(path));
  auto comps = split_path(path);
  Fd cur(openat2_in_root(root.fd, ".", O_PATH | O_DIRECTORY));
  if (!cur) fail(step, path, errno, "open " + root.path);
  std::string rel;
  for (size_t i = 0; i < comps.size(); i++) {
    const std::string& name = comps[i];
    bool last = i + 1 == comps.size();
    std::string parent = rel;
    rel += (rel.empty() ? "" : "/") + name;
    int fd = openat2_in_root(root.fd, rel, O_PATH);
    if (fd < 0 && errno == ENOENT && create != Create::None) {
      // A dangling symlink: create what it points to, still beneath the root (the
      // kernel resolves any ".." in the joined path with RESOLVE_IN_ROOT as well).
      char target[4096];
      ssize_t n = readlinkat(cur.get(), name.c_str(), target, sizeof target - 1);
      if (n > 0) {
        target[n] = '\0';
        std::string next = target[0] == '/' ? std::string(target) : parent + "/" + target;
        for (size_t k = i + 1; k < comps.size(); k++) next += "/" + comps[k];
        return open_in_root_at(root, next, create, step, depth + 1, created);
      }
      // create through the (safely resolved) parent fd, then resolve again
      int r;
      if (last && create == Create::File) {
        r = openat(cur.get(), name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (r >= 0) close(r);
      } else {
        r = mkdirat(cur.get(), name.c_str(), 0755);
      }
      if (r < 0 && errno != EEXIST)
        fail(step, path, errno, std::string(last && create == Create::File ? "create " : "mkdir ") +
                                    root.where("/" + rel));
      if (last && r >= 0 && created) *created = true;
      fd = openat2_in_root(root.fd, rel, O_PATH);
    }
    if (fd < 0) fail(step, path, errno, "open " + root.where("/" + rel));
    cur.reset(fd);
  }
  return cur;
}

}  // namespace

Fd open_in_root(const Root& root, const std::string& path, Create create, const char* step, bool* created) {
  return open_in_root_at(root, path, create, step, 0, created);
}

void prepare_rootfs(const Plan& plan, Sync& sync, const std::function<void()>& afterPivot) {
  // Without a mount namespace of its own the container shares the host's (host_mounts.h):
  // nothing but its own mounts beneath the rootfs may change there, so no propagation
  // change, no self-bind, and chroot instead of pivot_root (runc and crun chroot too).
  const bool ownMountNs = plan.has_namespace("mount");
  unsigned long prop = plan.rootfsPropagation ? plan.rootfsPropagation : (MS_SLAVE | MS_REC);
  if (ownMountNs) {
    if (mount("", "/", nullptr, prop, nullptr) < 0) fail("rootfs", "/", errno, "set propagation of /");
    make_parent_unshared(plan.rootfs, prop);
    // a mount point of its own, as pivot_root needs
    if (mount(plan.rootfs.c_str(), plan.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
      fail("rootfs", plan.rootfs, errno, "bind rootfs " + plan.rootfs + " onto itself");
  }
  Fd rootfd(open(plan.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd) fail("rootfs", plan.rootfs, errno, "open rootfs " + plan.rootfs);
  Root root{rootfd.get(), plan.rootfs};

  std::vector<const Mount*> deferredRo;
  for (auto& m : plan.mounts) {
    mount_entry(root, m, deferredRo);
    TSOCI_FAULT_POINT("mount:" + m.destination);
  }
  create_devices(plan, root);
  TSOCI_FAULT_POINT("devices");
  create_symlinks(plan, root);

  if (plan.pauseForHooks) {
    if (!sync.send_type("hooks") || !sync.expect("continue")) throw QuietExit{1};
  }
  // in the container's namespaces, the path still resolving in the runtime's root; like
  // runc's, with the rootfs as the working directory (hooks use relative paths into it)
  if (!plan.containerHooks.createContainer.empty() && fchdir(rootfd.get()) < 0)
    fail("hooks", plan.rootfs, errno, "chdir to rootfs " + plan.rootfs);
  run_container_hooks("createContainer", plan.containerHooks.createContainer, plan.containerHooks.stateJson, "creating");

  TSOCI_FAULT_POINT("pre-pivot");
  if (ownMountNs) pivot(plan, rootfd.get());
  else jail(plan, rootfd.get());
  TSOCI_FAULT_POINT("post-pivot");
  rootfd.reset();
  // shared propagation is applied to the new "/" only now, never to the host's
  if (ownMountNs && !(prop & (MS_PRIVATE | MS_SLAVE)) && mount("", "/", nullptr, prop, nullptr) < 0)
    fail("rootfs", "/", errno, "set propagation of the new /");
  if (afterPivot) afterPivot();
  if (ownMountNs) reopen_dev_null();

  mkdir_all(plan.process.cwd);
  for (auto* m : deferredRo) {
    int err = remount(m->destination, m->flags | MS_RDONLY);
    if (err) fail("mount", m->destination, err, "remount " + m->destination + " read-only");
  }
  if (plan.rootfsReadonly) {
    int err = remount("/", MS_RDONLY);
    if (err) fail("rootfs", "/", err, "remount / read-only");
  }
  if (plan.hostname && sethostname(plan.hostname->data(), plan.hostname->size()) < 0)
    fail("hostname", "", errno, "sethostname " + *plan.hostname);
  if (plan.domainname && setdomainname(plan.domainname->data(), plan.domainname->size()) < 0)
    fail("hostname", "", errno, "setdomainname " + *plan.domainname);
  write_sysctls(plan);
  readonly_paths(plan);
  TSOCI_FAULT_POINT("readonly-paths");
  masked_paths(plan);
  TSOCI_FAULT_POINT("masked-paths");
}

}  // namespace tsoci
