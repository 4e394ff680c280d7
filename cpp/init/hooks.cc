#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

// In the forked child: stdin from the state pipe, 1-2 inherited, nothing else; never returns.
[[noreturn]] void exec_hook(const Hook& h, int stdinFd, int errFd) {
  struct sigaction sa = {};
  sa.sa_handler = SIG_DFL;
  sigaction(SIGPIPE, &sa, nullptr);
  if (stdinFd == 0) fcntl(0, F_SETFD, 0);
  else if (dup2(stdinFd, 0) < 0) {
    int e = errno;
    (void)!write(errFd, &e, sizeof e);
    _exit(127);
  }
  for (int fd = 1; fd <= 2; fd++) {
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0) fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
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

std::string describe_status(int st) {
  if (WIFEXITED(st)) return "exit status " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) {
    const char* abbrev = sigabbrev_np(WTERMSIG(st));
    return std::string("killed by ") + (abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(WTERMSIG(st)));
  }
  return "status " + std::to_string(st);
}

void run_hook(const std::string& what, const Hook& h, const std::string& state) {
  int in[2], err[2];
  if (pipe2(in, O_CLOEXEC) < 0) fail("hooks", h.path, errno, what + ": pipe");
  Fd inRead(in[0]), inWrite(in[1]);
  if (pipe2(err, O_CLOEXEC) < 0) fail("hooks", h.path, errno, what + ": pipe");
  Fd errRead(err[0]), errWrite(err[1]);

  IgnoreSigpipe sigpipe;
  pid_t pid = fork();
  if (pid < 0) fail("hooks", h.path, errno, what + ": fork");
  if (pid == 0) exec_hook(h, inRead.get(), errWrite.get());
  inRead.reset();
  errWrite.reset();

  Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));  // absent: poll every 10 ms
  fcntl(inWrite.get(), F_SETFL, O_NONBLOCK);
  size_t off = 0;
  if (state.empty()) inWrite.reset();
  int64_t deadline = h.timeout > 0 ? now_ms() + int64_t(h.timeout) * 1000 : -1;
  int st = 0;
  for (;;) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) fail("hooks", h.path, errno, what + ": waitpid");
    int wait = -1;
    if (deadline >= 0) {
      int64_t left = deadline - now_ms();
      if (left <= 0) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
        fail_msg("hooks", h.path, ETIMEDOUT, what + ": timed out after " + std::to_string(h.timeout) + "s");
      }
      wait = static_cast<int>(left);
    }
    if (!pidfd && (wait < 0 || wait > 10)) wait = 10;
    struct pollfd fds[2];
    int n = 0;
    if (pidfd) fds[n++] = {pidfd.get(), POLLIN, 0};
    int wIdx = -1;
    if (inWrite) {
      wIdx = n;
      fds[n++] = {inWrite.get(), POLLOUT, 0};
    }
    if (poll(fds, n, wait) < 0 && errno != EINTR) fail("hooks", h.path, errno, what + ": poll");
    if (wIdx >= 0 && fds[wIdx].revents) {
      ssize_t w = write(inWrite.get(), state.data() + off, state.size() - off);
      if (w > 0) off += static_cast<size_t>(w);
      // EPIPE: the hook closed its stdin; it still decides the outcome by its status
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || off == state.size()) inWrite.reset();
    }
  }
  int execErr = 0;
  if (read(errRead.get(), &execErr, sizeof execErr) == sizeof execErr)
    fail("hooks", h.path, execErr, what + ": exec " + h.path);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail_msg("hooks", h.path, 0, what + ": " + describe_status(st));
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
    run_hook(std::string(kind) + " hook #" + std::to_string(i) + " (" + hooks[i].path + ")", hooks[i], state);
}

void run_start_container_hooks(const ContainerHooks& hooks, int fifoFd) {
  if (hooks.startContainer.empty()) return;
  std::string message;
  try {
    run_container_hooks("startContainer", hooks.startContainer, hooks.stateJson, "created");
    return;
  } catch (const Failure& f) {
    message = f.message;
  } catch (const std::exception& e) {
    message = std::string("startContainer hooks: ") + e.what();
  }
  for (auto& c : message)
    if (c == '\n') c = ' ';
  std::string line = "E" + message + "\n";
  if (fifoFd >= 0) (void)!write(fifoFd, line.data(), line.size());
  else (void)!write(2, line.data() + 1, line.size() - 1);
  _exit(1);
}

}  // namespace tsoci
