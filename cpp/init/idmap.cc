#include "idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <string.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "errors.h"
#include "fd.h"

namespace tsoci {

namespace {

// 0 on success, else errno
int write_proc_file(int procfd, const std::string& rel, const std::string& content) {
  Fd fd(openat(procfd, rel.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return errno;
  // the kernel requires the whole map in a single write
  ssize_t n = write(fd.get(), content.data(), content.size());
  if (n < 0) return errno;
  return n == static_cast<ssize_t>(content.size()) ? 0 : EIO;
}

// newuidmap/newgidmap (setuid, from uidmap) write a map an unprivileged process may not
// write itself: more than one range, or ids other than its own (checked against
// /etc/subuid and /etc/subgid). "" on success, else why it failed, with what it printed.
std::string run_helper(const char* prog, pid_t pid, const std::vector<IdMapping>& maps) {
  std::vector<std::string> args{prog, std::to_string(pid)};
  for (auto& m : maps) {
    args.push_back(std::to_string(m.containerID));
    args.push_back(std::to_string(m.hostID));
    args.push_back(std::to_string(m.size));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int out[2];
  if (pipe2(out, O_CLOEXEC) < 0) return std::string("pipe: ") + errno_text(errno);
  Fd rd(out[0]), wr(out[1]);
  pid_t child = fork();
  if (child < 0) return std::string("fork: ") + errno_text(errno);
  if (child == 0) {
    dup2(wr.get(), 1);
    dup2(wr.get(), 2);
    execvp(prog, argv.data());
    int e = errno;
    const char* why = e == ENOENT ? " not found in $PATH (install uidmap)" : ": cannot execute";
    ssize_t ignored = write(2, prog, strlen(prog));
    ignored = write(2, why, strlen(why));
    (void)ignored;
    _exit(127);
  }
  wr.reset();
  std::string said;
  char buf[512];
  for (;;) {
    ssize_t n = read(rd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (said.size() < 2048) said.append(buf, static_cast<size_t>(n));
  }
  int st = 0;
  while (waitpid(child, &st, 0) < 0)
    if (errno != EINTR) return std::string("waitpid: ") + errno_text(errno);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return "";
  while (!said.empty() && (said.back() == '\n' || said.back() == ' ')) said.pop_back();
  for (auto& c : said)
    if (c == '\n') c = ' ';
  std::string status = WIFEXITED(st) ? "exit status " + std::to_string(WEXITSTATUS(st))
                                     : "killed by signal " + std::to_string(WTERMSIG(st));
  if (WIFEXITED(st) && WEXITSTATUS(st) == 127 && said.find("not found in $PATH") != std::string::npos)
    return said;
  return std::string(prog) + " refused (" + status + ")" + (said.empty() ? "" : ": " + said);
}

void write_map(int procfd, pid_t pid, const char* file, const char* helper,
               const std::vector<IdMapping>& maps) {
  if (maps.empty()) return;
  std::string content;
  for (auto& m : maps)
    content += std::to_string(m.containerID) + " " + std::to_string(m.hostID) + " " +
               std::to_string(m.size) + "\n";
  std::string rel = std::to_string(pid) + "/" + file;
  int err = write_proc_file(procfd, rel, content);
  if (err == 0) return;
  std::string what = std::string("write ") + file + " for pid " + std::to_string(pid);
  if (err != EPERM) fail("idmap", "/proc/" + rel, err, what);
  // as runc: a map we may not write ourselves goes through the setuid helper
  std::string why = run_helper(helper, pid, maps);
  if (why.empty()) return;
  std::string hint;
  if (why.find("not found in $PATH") == std::string::npos)
    hint = std::string(" (the ranges must be the caller's own id or in its /etc/sub") +
           (file[0] == 'u' ? "uid" : "gid") + " ranges)";
  fail_msg("idmap", "/proc/" + rel, err, what + ": " + errno_text(err) + "; " + why + hint);
}

}  // namespace

void write_id_maps(const Plan& plan, pid_t pid, int procfd) {
  write_map(procfd, pid, "uid_map", "newuidmap", plan.uidMappings);
  if (plan.setgroupsDeny) {
    std::string rel = std::to_string(pid) + "/setgroups";
    int err = write_proc_file(procfd, rel, "deny");
    if (err) fail("idmap", "/proc/" + rel, err, "write setgroups for pid " + std::to_string(pid));
  }
  write_map(procfd, pid, "gid_map", "newgidmap", plan.gidMappings);
}

}  // namespace tsoci
