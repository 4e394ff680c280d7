#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "errors.h"
#include "fd.h"

namespace tsoci {

namespace {

using json = nlohmann::json;

int64_t now_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// SIGPIPE ignored while we write a hook's stdin (a hook that exits without reading it
// must not kill the init); restored on scope exit.
class IgnoreSigpipe {
 public:
  IgnoreSigpipe() {
    struct sigaction sa = {};
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, &old_);
  }
  ~IgnoreSigpipe() { sigaction(SIGPIPE, &old_, nullptr); }
  IgnoreSigpipe(const IgnoreSigpipe&) = delete;
  IgnoreSigpipe& operator=(const IgnoreSigpipe&) = delete;

 private:
  struct sigaction old_ = {};
};

// In the forked child: stdin from the state pipe, stdout/stderr into the capture pipes,
// nothing else; never returns.
[[noreturn]] void exec_hook(const Hook& h, const int stdio[3], int errFd) {
  struct sigaction sa = {};
  sa.sa_handler = SIG_DFL;
  sigaction(SIGPIPE, &sa, nullptr);
  for (int fd = 0; fd <= 2; fd++) {
    // dup2 onto itself keeps FD_CLOEXEC: clear it then
    if (stdio[fd] == fd ? fcntl(fd, F_SETFD, 0) < 0 : dup2(stdio[fd], fd) < 0) {
      int e = errno;
      (void)!write(errFd, &e, sizeof e);
      _exit(127);
    }
  }
  // everything but 0-2 and the (close-on-exec) error pipe goes
  if (errFd > 3) syscall(SYS_close_range, 3, errFd - 1, 0);
  syscall(SYS_close_range, errFd + 1, ~0U, 0);
  std::vector<char*> argv, envp;
  if (h.args.empty()) argv.push_back(const_cast<char*>(h.path.c_str()));
  for (auto& a : h.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : h.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  execve(h.path.c_str(), argv.data(), envp.data());
  int e = errno;
  (void)!write(errFd, &e, sizeof e);
  _exit(127);
}

// Go's os/exec texts: "exit status 1", "signal: killed".
std::string describe_status(int st) {
  if (WIFEXITED(st)) return "exit status " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) {
    const char* d = sigdescr_np(WTERMSIG(st));
    std::string text = d ? d : "signal " + std::to_string(WTERMSIG(st));
    if (!text.empty()) text[0] = static_cast<char>(tolower(text[0]));
    return "signal: " + text;
  }
  return "status " + std::to_string(st);
}

// What a hook may print that its error message carries (runc keeps all; a bound keeps
// the init's memory sane).
constexpr size_t kOutputLimit = 64 * 1024;

void drain(Fd& fd, std::string& into) {
  char buf[4096];
  ssize_t n = read(fd.get(), buf, sizeof buf);
  if (n > 0) {
    if (into.size() < kOutputLimit) into.append(buf, std::min(static_cast<size_t>(n), kOutputLimit - into.size()));
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    fd.reset();
  }
}

// Like runc's: the hook's stdout and stderr are collected, and shown only in the failure.
void run_hook(const std::string& what, const Hook& h, const std::string& state) {
  int in[2], out[2], errp[2], ex[2];
  if (pipe2(in, O_CLOEXEC) < 0) fail("hooks", h.path, errno, what + ": pipe");
  Fd inRead(in[0]), inWrite(in[1]);
  if (pipe2(out, O_CLOEXEC) < 0) fail("hooks", h.path, errno, what + ": pipe");
  Fd outRead(out[0]), outWrite(out[1]);
  if (pipe2(errp, O_CLOEXEC) < 0) fail("hooks", h.path, errno, what + ": pipe");
  Fd errRead(errp[0]), errWrite(errp[1]);
  if (pipe2(ex, O_CLOEXEC) < 0) fail("hooks", h.path, errno, what + ": pipe");
  Fd exRead(ex[0]), exWrite(ex[1]);

  IgnoreSigpipe sigpipe;
  pid_t pid = fork();
  if (pid < 0) fail("hooks", h.path, errno, what + ": fork");
  if (pid == 0) {
    const int stdio[3] = {inRead.get(), outWrite.get(), errWrite.get()};
    exec_hook(h, stdio, exWrite.get());
  }
  inRead.reset();
  outWrite.reset();
  errWrite.reset();
  exWrite.reset();

  Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));  // absent: poll every 10 ms
  fcntl(inWrite.get(), F_SETFL, O_NONBLOCK);
  fcntl(outRead.get(), F_SETFL, O_NONBLOCK);
  fcntl(errRead.get(), F_SETFL, O_NONBLOCK);
  std::string stdoutText, stderrText;
  size_t off = 0;
  if (state.empty()) inWrite.reset();
  int64_t deadline = h.timeout > 0 ? now_ms() + int64_t(h.timeout) * 1000 : -1;
  int st = 0;
  bool exited = false;
  int64_t exitedAt = 0;
  // until the hook exited and its output pipes reached EOF, or a moment after the exit
  // when something the hook started still holds them (that must not hang the init)
  while (!exited || ((outRead || errRead) && now_ms() - exitedAt < 200)) {
    if (!exited) {
      pid_t r = waitpid(pid, &st, WNOHANG);
      if (r == pid) {
        exited = true;
        exitedAt = now_ms();
      } else if (r < 0 && errno != EINTR) {
        fail("hooks", h.path, errno, what + ": waitpid");
      }
    }
    int wait = -1;
    if (deadline >= 0 && !exited) {
      int64_t left = deadline - now_ms();
      if (left <= 0) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
        char secs[32];
        snprintf(secs, sizeof secs, "%.1f", static_cast<double>(h.timeout));
        fail_msg("hooks", h.path, ETIMEDOUT, what + ": hook ran past specified timeout of " + secs + "s");
      }
      wait = static_cast<int>(left);
    }
    if (!exited && !pidfd && (wait < 0 || wait > 10)) wait = 10;
    if (exited && (wait < 0 || wait > 20)) wait = 20;
    struct pollfd fds[4];
    int n = 0, wIdx = -1, oIdx = -1, eIdx = -1;
    if (!exited && pidfd) fds[n++] = {pidfd.get(), POLLIN, 0};
    if (inWrite) fds[wIdx = n++] = {inWrite.get(), POLLOUT, 0};
    if (outRead) fds[oIdx = n++] = {outRead.get(), POLLIN, 0};
    if (errRead) fds[eIdx = n++] = {errRead.get(), POLLIN, 0};
    if (poll(fds, n, wait) < 0 && errno != EINTR) fail("hooks", h.path, errno, what + ": poll");
    if (wIdx >= 0 && fds[wIdx].revents) {
      ssize_t w = write(inWrite.get(), state.data() + off, state.size() - off);
      if (w > 0) off += static_cast<size_t>(w);
      // EPIPE: the hook closed its stdin; it still decides the outcome by its status
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || off == state.size()) inWrite.reset();
    }
    if (oIdx >= 0 && fds[oIdx].revents) drain(outRead, stdoutText);
    if (eIdx >= 0 && fds[eIdx].revents) drain(errRead, stderrText);
  }
  int execErr = 0;
  if (read(exRead.get(), &execErr, sizeof execErr) == sizeof execErr) {
    std::string text = errno_text(execErr);
    // Go's exec.Cmd.Start error, without the errno name
    fail_msg("hooks", h.path, execErr, what + ": fork/exec " + h.path + ": " + text.substr(0, text.find(" (")));
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fail_msg("hooks", h.path, 0, what + ": " + describe_status(st) + ", stdout: " + stdoutText + ", stderr: " + stderrText);
}

}  // namespace

ContainerHooks parse_container_hooks(const json& j) {
  ContainerHooks out;
  auto list = [&](const char* key) {
    std::vector<Hook> hooks;
    for (auto& h : j.value(key, json::array())) {
      Hook x;
      x.path = h.at("path").get<std::string>();
      x.args = h.value("args", std::vector<std::string>{});
      x.env = h.value("env", std::vector<std::string>{});
      x.timeout = h.value("timeout", 0);
      hooks.push_back(std::move(x));
    }
    return hooks;
  };
  out.createContainer = list("createContainer");
  out.startContainer = list("startContainer");
  out.stateJson = j.value("stateJson", std::string("{}"));
  return out;
}

void run_container_hooks(const char* kind, const std::vector<Hook>& hooks, const std::string& stateJson,
                         const char* status) {
  if (hooks.empty()) return;
  std::string state;
  try {
    json s = json::parse(stateJson);
    s["pid"] = getpid();  // the pid as seen in the container's PID namespace
    s["status"] = status;
    state = s.dump();
  } catch (const json::exception& e) {
    fail_msg("hooks", "", EINVAL, std::string("invalid hook state JSON: ") + e.what());
  }
  for (size_t i = 0; i < hooks.size(); i++)
    run_hook(std::string("error running ") + kind + " hook #" + std::to_string(i), hooks[i], state);
}

void run_start_container_hooks(const ContainerHooks& hooks, const std::vector<std::string>& processEnv, int fifoFd) {
  if (hooks.startContainer.empty()) return;
  std::string message;
  try {
    // runc: a startContainer hook without an env of its own gets the process's (HOME included)
    std::vector<Hook> list = hooks.startContainer;
    for (auto& h : list)
      if (h.env.empty()) h.env = processEnv;
    run_container_hooks("startContainer", list, hooks.stateJson, "created");
    return;
  } catch (const Failure& f) {
    message = f.message;
  } catch (const std::exception& e) {
    message = std::string("startContainer hooks: ") + e.what();
  }
  // one line on the fifo: newlines (a hook's output) escaped as the runtime's log does
  std::string line = "E";
  for (char c : message) line += c == '\n' ? std::string("\\n") : std::string(1, c);
  line += "\n";
  if (fifoFd >= 0) (void)!write(fifoFd, line.data(), line.size());
  else (void)!write(2, line.data() + 1, line.size() - 1);
  _exit(1);
}

}  // namespace tsoci
