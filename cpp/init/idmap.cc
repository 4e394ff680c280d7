#include "idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
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

bool run_helper(const char* prog, pid_t pid, const std::vector<IdMapping>& maps) {
  std::vector<std::string> args{prog, std::to_string(pid)};
  for (auto& m : maps) {
    args.push_back(std::to_string(m.containerID));
    args.push_back(std::to_string(m.hostID));
    args.push_back(std::to_string(m.size));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t child = fork();
  if (child < 0) return false;
  if (child == 0) {
    execvp(prog, argv.data());
    _exit(127);
  }
  int st = 0;
  while (waitpid(child, &st, 0) < 0)
    if (errno != EINTR) return false;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
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
  if (err == EPERM && run_helper(helper, pid, maps)) return;
  fail("idmap", "/proc/" + rel, err, std::string("write ") + file + " for pid " + std::to_string(pid));
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
