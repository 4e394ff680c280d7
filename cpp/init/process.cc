#include "process.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cwd_check.h"
#include "errors.h"
#include "rlimit_names.h"
#include "fd.h"
#include "seccomp.h"

namespace tsoci {

namespace {

int last_cap() {
  int c = 0;
  while (c < 63 && prctl(PR_CAPBSET_READ, c + 1, 0, 0, 0) >= 0) c++;
  return c;
}

bool contains(const std::vector<int>& v, int c) {
  for (int x : v)
    if (x == c) return true;
  return false;
}

// Two 32-bit words, capabilities the kernel does not know are left out.
void to_words(const std::vector<int>& caps, int last, uint32_t w[2]) {
  w[0] = w[1] = 0;
  for (int c : caps)
    if (c >= 0 && c <= last) w[c / 32] |= 1u << (c % 32);
}

void set_oom_score_adj(int procfd, int value) {
  Fd fd(openat(procfd, "self/oom_score_adj", O_WRONLY | O_CLOEXEC));
  std::string s = std::to_string(value);
  if (!fd || write(fd.get(), s.data(), s.size()) < 0)
    fail("oomScoreAdj", "/proc/self/oom_score_adj", errno, "set oom_score_adj to " + s);
}

void set_rlimits(const Process& p) {
  for (auto& r : p.rlimits) {
    struct rlimit rl = {r.soft, r.hard};
    if (setrlimit(r.resource, &rl) < 0)
      fail("rlimits", "", errno, std::string("setrlimit ") + rlimit_name(r.resource));
  }
}

void chdir_or_fail(const std::string& cwd, int err) {
  fail_msg("chdir", cwd, err,
           "chdir to cwd (\"" + cwd + "\") set in config.json failed: " + errno_text(err));
}

// The user namespace forbids setgroups ("deny": rootless with one gid mapping). An exec's
// plan does not say so; runc reads the same file.
bool setgroups_denied() {
  Fd fd(open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  char buf[8] = {};
  ssize_t n = read(fd.get(), buf, sizeof buf - 1);
  return n >= 4 && strncmp(buf, "deny", 4) == 0;
}

// uid/gid switch with the capability dance: bounding first, KEEPCAPS across the
// setresuid, then exactly the planned sets.
void set_credentials(const Plan& plan) {
  const Process& p = plan.process;
  const Capabilities* caps = p.capabilities ? &*p.capabilities : nullptr;
  int last = last_cap();
  if (caps) {
    for (int c = 0; c <= last; c++)
      if (!contains(caps->bounding, c) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
        fail("capabilities", "", errno, "drop capability " + std::to_string(c) + " from the bounding set");
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail("capabilities", "", errno, "prctl PR_SET_KEEPCAPS");
  }
  if (!plan.setgroupsDeny && !setgroups_denied()) {
    std::vector<gid_t> groups(p.additionalGids.begin(), p.additionalGids.end());
    if (setgroups(groups.size(), groups.data()) < 0) fail("user", "", errno, "setgroups");
  } else if (!p.additionalGids.empty()) {
    fail_msg("user", "", EPERM,
             "cannot set additional gids: setgroups is denied in this user namespace (a rootless "
             "container with a single gid mapping)");
  }
  if (setresgid(p.gid, p.gid, p.gid) < 0) fail("user", "", errno, "setresgid " + std::to_string(p.gid));
  if (setresuid(p.uid, p.uid, p.uid) < 0) fail("user", "", errno, "setresuid " + std::to_string(p.uid));
  if (!caps) return;
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) fail("capabilities", "", errno, "prctl PR_SET_KEEPCAPS");

  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  uint32_t eff[2], perm[2], inh[2];
  to_words(caps->effective, last, eff);
  to_words(caps->permitted, last, perm);
  to_words(caps->inheritable, last, inh);
  for (int i = 0; i < 2; i++) {
    data[i].effective = eff[i];
    data[i].permitted = perm[i];
    data[i].inheritable = inh[i];
  }
  if (syscall(SYS_capset, &hdr, data) < 0) fail("capabilities", "", errno, "capset");
  // like runc: an ambient capability that cannot be raised (not in permitted and
  // inheritable) is skipped, not fatal
  for (int c : caps->ambient)
    if (c >= 0 && c <= last) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0);
}

// Go's findExecutable: a regular (non-directory) file that is executable for us.
int check_executable(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) < 0) return errno;
  if (S_ISDIR(st.st_mode)) return EACCES;
  if (faccessat(AT_FDCWD, path.c_str(), X_OK, AT_EACCESS) < 0) return errno == EPERM ? EACCES : errno;
  return 0;
}

}  // namespace

void reset_signals() {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP) sigaction(s, &sa, nullptr);
  // glibc's sigaction refuses its internal signals 32 and 33 (EINVAL), but an ignored
  // disposition inherited from the caller would survive execve into the container: the
  // kernel's rt_sigaction resets them (layout of the kernel's struct sigaction on x86_64/arm64).
  struct { void (*handler)(int); unsigned long flags; void (*restorer)(); unsigned long mask; } kernelDefault{SIG_DFL, 0, nullptr, 0};
  for (int s = 32; s <= 33; s++) syscall(SYS_rt_sigaction, s, &kernelDefault, nullptr, sizeof kernelDefault.mask);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

std::string setup_process(const Plan& plan, int procfd) {
  std::string execPath;
  const Process& p = plan.process;
  if (p.oomScoreAdj) set_oom_score_adj(procfd, *p.oomScoreAdj);
  set_rlimits(p);
  if (p.umask >= 0) umask(static_cast<mode_t>(p.umask));
  // chdir as root first (the runtime may reach what the user cannot); on a permission
  // error try again as the container user.
  bool chdirDone = false;
  if (!p.cwd.empty()) {
    if (chdir(p.cwd.c_str()) == 0) {
      chdirDone = true;
      ensure_cwd_inside_root(p.cwd);  // CVE-2024-21626
    } else if (errno != EACCES && errno != EPERM) chdir_or_fail(p.cwd, errno);
  }
  // without no_new_privs loading a filter needs CAP_SYS_ADMIN: before the uid/caps switch
  // (runc). Look the executable up first: the profile may deny what the lookup uses
  // (faccessat2, newer than many profiles), and glibc only falls back on ENOSYS.
  if (!p.noNewPrivileges && plan.seccomp.present) {
    execPath = find_executable(p);
    seccomp_load(plan, procfd);
  }
  set_credentials(plan);
  if (!chdirDone && !p.cwd.empty() && chdir(p.cwd.c_str()) < 0) chdir_or_fail(p.cwd, errno);
  if (!chdirDone && !p.cwd.empty()) ensure_cwd_inside_root(p.cwd);
  if (p.noNewPrivileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    fail("noNewPrivileges", "", errno, "prctl PR_SET_NO_NEW_PRIVS");
  return execPath;
}

std::string find_executable(const Process& proc) {
  const std::string& name = proc.args[0];
  if (name.find('/') != std::string::npos) {
    int err = check_executable(name);
    if (err == 0) return name;
    if (err == EACCES) fail_msg("exec", name, err, "exec: \"" + name + "\": permission denied");
    std::string text = errno_text(err);
    text = text.substr(0, text.find(" ("));  // Go prints the text without the errno name
    fail_msg("exec", name, err, "exec: \"" + name + "\": stat " + name + ": " + text);
  }
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (auto& e : proc.env)
    if (e.compare(0, 5, "PATH=") == 0) path = e.substr(5);
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find(':', i);
    if (j == std::string::npos) j = path.size();
    std::string dir = path.substr(i, j - i);
    i = j + 1;
    // Go refuses relative PATH entries (ErrDot); so do we
    if (dir.empty() || dir[0] != '/') continue;
    std::string cand = dir + "/" + name;
    if (check_executable(cand) == 0) return cand;
  }
  fail_msg("exec", name, ENOENT, "exec: \"" + name + "\": executable file not found in $PATH");
}

namespace {
bool g_cloexec_marked = false;

// FD_CLOEXEC on every fd from `from` up, one by one (no close_range: kernel < 5.11)
bool mark_cloexec_by_listing(int from, int procfd) {
  int dfd = procfd >= 0 ? openat(procfd, "self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                        : open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return false;
  DIR* d = fdopendir(dfd);
  if (!d) {
    close(dfd);
    return false;
  }
  std::vector<int> fds;
  while (struct dirent* e = readdir(d)) {
    char* end = nullptr;
    long fd = strtol(e->d_name, &end, 10);
    if (*end == '\0' && e->d_name[0] != '\0' && fd >= from && fd != dfd) fds.push_back(static_cast<int>(fd));
  }
  closedir(d);
  for (int fd : fds) {
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0) fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
  }
  return true;
}
}  // namespace

void mark_fds_cloexec(const Plan& plan, int procfd) {
  int from = 3 + plan.preserveFds;
  if (syscall(SYS_close_range, from, ~0U, CLOSE_RANGE_CLOEXEC) == 0 || mark_cloexec_by_listing(from, procfd))
    g_cloexec_marked = true;
}

void exec_process(const Plan& plan, const std::string& path, const std::vector<std::string>& env) {
  reset_signals();
  int keep = 3 + plan.preserveFds;
  for (int fd = 0; fd < keep; fd++) {
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0) fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
  }
  // Everything else (the sync socket, the proc dirfd, anything Node leaked above fd 16,
  // the exec fifo's write end) closes at execve: the runtime sees EOF on the exec fifo
  // only once the process is executed (or gone). Marked before a seccomp filter went in
  // (mark_fds_cloexec); a profile may deny close_range, and a close() loop over every
  // possible fd under a filter took tens of milliseconds.
  if (syscall(SYS_close_range, keep, ~0U, CLOSE_RANGE_CLOEXEC) < 0 && !g_cloexec_marked &&
      !mark_cloexec_by_listing(keep, -1))
    for (int fd = keep; fd < 65536; fd++) close(fd);

  std::vector<char*> argv, envp;
  for (auto& a : plan.process.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  execve(path.c_str(), argv.data(), envp.data());
  // runc's last-resort report (Go's PathError) and status: nobody is listening on the
  // sync channel any more, the process's stderr is the one place left
  std::string text = errno_text(errno);
  dprintf(2, "exec %s: %s\n", path.c_str(), text.substr(0, text.find(" (")).c_str());
  _exit(255);
}

}  // namespace tsoci
