#include "mount_ext.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>

#include "errors.h"
#include "fd.h"
#include "mount_sources.h"
#include "plan.h"

namespace tsoci {

namespace {

using json = nlohmann::json;

// stage0 → stage2 (inherited across the forks; same addresses in every copy of the plan)
std::map<const Mount*, Fd>& prepared() {
  static std::map<const Mount*, Fd> trees;
  return trees;
}

std::string map_text(const std::vector<MountIdmapMap>& maps) {
  std::string s;
  for (auto& m : maps)
    s += std::to_string(m.containerID) + " " + std::to_string(m.hostID) + " " + std::to_string(m.size) + "\n";
  return s;
}

void write_map(int procfd, pid_t pid, const char* file, const std::string& text, const std::string& dest) {
  std::string rel = std::to_string(pid) + "/" + file;
  Fd fd(openat(procfd, rel.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) fail("mount", dest, errno, std::string("idmapped mount: open /proc/") + rel);
  if (write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    fail("mount", dest, errno, std::string("idmapped mount: write /proc/") + rel + " (\"" + text.substr(0, text.size() - 1) + "\")");
}

// A user namespace with the mount's maps, as an fd: a child cloned into a new user
// namespace waits on a pipe while we write its maps and open its ns/user; then it exits.
Fd helper_userns(const MountExt& x, int procfd, const std::string& dest) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) fail("mount", dest, errno, "idmapped mount: pipe");
  Fd hold(p[0]), release(p[1]);
  pid_t pid = static_cast<pid_t>(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0));
  if (pid < 0) fail("mount", dest, errno, "idmapped mount: clone a user namespace");
  if (pid == 0) {
    release.reset();
    char c;
    while (read(hold.get(), &c, 1) < 0 && errno == EINTR) {
    }
    _exit(0);
  }
  hold.reset();
  struct Reap {
    pid_t pid;
    Fd& release;
    ~Reap() {
      release.reset();
      int st;
      while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
    }
  } reap{pid, release};
  write_map(procfd, pid, "uid_map", map_text(x.uidMappings), dest);
  write_map(procfd, pid, "gid_map", map_text(x.gidMappings), dest);
  std::string rel = std::to_string(pid) + "/ns/user";
  Fd ns(openat(procfd, rel.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) fail("mount", dest, errno, "idmapped mount: open /proc/" + rel);
  return ns;
}

// open_tree(OPEN_TREE_CLONE) of the source, id-mapped with the user namespace at nsfd
Fd idmapped_tree(const Mount& m, int nsfd) {
  unsigned int flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | ((m.flags & MS_REC) ? AT_RECURSIVE : 0);
  Fd tree(open_tree(AT_FDCWD, m.source.c_str(), flags));
  if (!tree) fail("mount", m.destination, errno, "idmapped mount: open_tree " + m.source);
  struct mount_attr attr = {};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(nsfd);
  unsigned int at = AT_EMPTY_PATH | (m.ext.idmapRecursive ? AT_RECURSIVE : 0);
  if (mount_setattr(tree.get(), "", at, &attr, sizeof attr) < 0)
    fail("mount", m.destination, errno, "idmapped mount: mount_setattr(MOUNT_ATTR_IDMAP) of " + m.source);
  return tree;
}

// the user namespaces of the id-mapped mounts whose source is inside the rootfs: their
// trees are cloned by stage2, at their turn, once the mounts before them are in place
std::map<const Mount*, Fd>& late_userns() {
  static std::map<const Mount*, Fd> userns;
  return userns;
}

// out of the range of fds the container keeps (0 .. 3+preserveFds-1)
Fd above_kept(const Plan& plan, Fd fd, const std::string& dest) {
  int high = fcntl(fd.get(), F_DUPFD_CLOEXEC, 3 + plan.preserveFds);
  if (high < 0) fail("mount", dest, errno, "idmapped mount: dup");
  return Fd(high);
}

std::vector<MountIdmapMap> maps(const json& j) {
  std::vector<MountIdmapMap> out;
  for (auto& m : j)
    out.push_back({m.at("containerID").get<uint32_t>(), m.at("hostID").get<uint32_t>(), m.at("size").get<uint32_t>()});
  return out;
}

}  // namespace

void parse_mount_ext(const json& m, MountExt& out) {
  if (m.contains("recursiveAttrs") && m.at("recursiveAttrs").is_object()) {
    auto& r = m.at("recursiveAttrs");
    out.attrSet = r.value("set", uint64_t(0));
    out.attrClear = r.value("clear", uint64_t(0));
    out.hasRecursiveAttrs = out.attrSet || out.attrClear;
  }
  if (m.contains("idmap") && m.at("idmap").is_object()) {
    auto& i = m.at("idmap");
    out.idmap = true;
    out.idmapRecursive = i.value("recursive", false);
    out.uidMappings = maps(i.at("uidMappings"));
    out.gidMappings = maps(i.at("gidMappings"));
    out.idmapUserns = i.value("userns", std::string());
  }
}

void prepare_idmapped_mounts(const Plan& plan, int procfd) {
  for (auto& m : plan.mounts) {
    if (!m.ext.idmap) continue;
    Fd ns;
    if (!m.ext.idmapUserns.empty()) {
      ns = Fd(open(m.ext.idmapUserns.c_str(), O_RDONLY | O_CLOEXEC));
      if (!ns) fail("mount", m.destination, errno, "idmapped mount: open user namespace " + m.ext.idmapUserns);
    } else {
      ns = helper_userns(m.ext, procfd, m.destination);
    }
    if (source_inside_rootfs(plan, m.source)) late_userns()[&m] = above_kept(plan, std::move(ns), m.destination);
    else prepared()[&m] = above_kept(plan, idmapped_tree(m, ns.get()), m.destination);
  }
}

void attach_idmapped_mount(const Mount& m, int dstFd, const std::string& where) {
  Fd tree;
  auto it = prepared().find(&m);
  auto late = late_userns().find(&m);
  if (it != prepared().end() && it->second) tree = std::move(it->second);
  else if (late != late_userns().end() && late->second) tree = idmapped_tree(m, late->second.get());
  else fail_msg("mount", m.destination, EINVAL, "idmapped mount of " + m.source + " was not prepared");
  if (late != late_userns().end()) late->second.reset();
  if (move_mount(tree.get(), "", dstFd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    fail("mount", m.destination, errno, "idmapped mount: move_mount " + m.source + " to " + where);
}

void apply_recursive_attrs(const Mount& m, int fd, const std::string& where) {
  if (!m.ext.hasRecursiveAttrs) return;
  struct mount_attr attr = {};
  attr.attr_set = m.ext.attrSet;
  attr.attr_clr = m.ext.attrClear;
  if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
    fail("mount", m.destination, errno, "set recursive mount attributes of " + where);
}

}  // namespace tsoci
