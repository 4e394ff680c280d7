#include "process_ops.h"

#include <errno.h>
#include <string>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fd.h"

namespace tsoci {
namespace {

int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

// flock(fd, exclusive, nonblocking) -> 0 or errno. Blocking locks are short here
// (held only for the duration of one tsoci command), so blocking the loop is fine.
Napi::Value Flock(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool exclusive = info[1].ToBoolean();
  bool nonblocking = info[2].ToBoolean();
  int op = (exclusive ? LOCK_EX : LOCK_SH) | (nonblocking ? LOCK_NB : 0);
  int rc;
  do { rc = flock(fd, op); } while (rc < 0 && errno == EINTR);
  return Napi::Number::New(info.Env(), rc < 0 ? errno : 0);
}

// waitForExit(pid, timeoutMs) -> 0 when the process has exited (or does not exist),
// ETIMEDOUT when it is still alive after the timeout, or another errno. Works for
// processes that are not our children (pidfd polls readable on exit).
Napi::Value WaitForExit(const Napi::CallbackInfo& info) {
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  int timeout_ms = info[1].As<Napi::Number>().Int32Value();
  Fd pidfd(PidfdOpen(pid));
  if (pidfd.get() < 0) return Napi::Number::New(info.Env(), errno == ESRCH ? 0 : errno);
  struct pollfd pfd = {pidfd.get(), POLLIN, 0};
  int rc;
  do { rc = poll(&pfd, 1, timeout_ms); } while (rc < 0 && errno == EINTR);
  if (rc < 0) return Napi::Number::New(info.Env(), errno);
  return Napi::Number::New(info.Env(), rc == 0 ? ETIMEDOUT : 0);
}

// pidfdKill(pid, signal) -> 0 or errno. Opening a pidfd first pins the process, so a
// caller that has just verified the pid's start time signals that very process.
Napi::Value PidfdKill(const Napi::CallbackInfo& info) {
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  int sig = info[1].As<Napi::Number>().Int32Value();
  Fd pidfd(PidfdOpen(pid));
  if (pidfd.get() < 0) return Napi::Number::New(info.Env(), errno);
  long rc = syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0);
  return Napi::Number::New(info.Env(), rc < 0 ? errno : 0);
}

Napi::Value SetChildSubreaper(const Napi::CallbackInfo& info) {
  int rc = prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  return Napi::Number::New(info.Env(), rc < 0 ? errno : 0);
}

// mkfifo(path, mode) -> 0 or errno. Node has no mkfifo.
Napi::Value Mkfifo(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>().Utf8Value();
  mode_t mode = info[1].As<Napi::Number>().Uint32Value();
  int rc = mkfifo(path.c_str(), mode);
  return Napi::Number::New(info.Env(), rc < 0 ? errno : 0);
}

// reapChild(pid) -> 0 or errno: waits for a (reparented) child so no zombie is left
// behind for a slow host init to collect.
Napi::Value ReapChild(const Napi::CallbackInfo& info) {
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  int rc;
  do { rc = waitpid(pid, nullptr, __WALL); } while (rc < 0 && errno == EINTR);
  return Napi::Number::New(info.Env(), rc < 0 ? errno : 0);
}

}  // namespace

void RegisterProcessOps(Napi::Env env, Napi::Object exports) {
  exports.Set("flock", Napi::Function::New(env, Flock));
  exports.Set("waitForExit", Napi::Function::New(env, WaitForExit));
  exports.Set("pidfdKill", Napi::Function::New(env, PidfdKill));
  exports.Set("reapChild", Napi::Function::New(env, ReapChild));
  exports.Set("mkfifo", Napi::Function::New(env, Mkfifo));
  exports.Set("setChildSubreaper", Napi::Function::New(env, SetChildSubreaper));
}

}  // namespace tsoci
