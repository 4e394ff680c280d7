#include "process_ops.h"

#include <errno.h>
#include <string>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fd.h"

namespace tsoci {
namespace {

int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

// flock(fd, exclusive, nonblocking) -> 0 or errno.
Napi::Value Flock(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool exclusive = info[1].ToBoolean();
  bool nonblocking = info[2].ToBoolean();
  int op = (exclusive ? LOCK_EX : LOCK_SH) | (nonblocking ? LOCK_NB : 0);
  int rc;
  do { rc = flock(fd, op); } while (rc < 0 && errno == EINTR);
  return Napi::Number::New(info.Env(), rc < 0 ? errno : 0);
}

long MonotonicMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

// flockWait(fd, timeoutMs) -> 0, ETIMEDOUT or another errno: an exclusive lock, retried
// without blocking (1 ms, doubling to 20 ms between tries) until the deadline. A blocking
// flock() would wait forever for a holder that never lets go (the --preserve-fds hang: a
// container inheriting the lock fd), and is restarted after a signal (SA_RESTART).
Napi::Value FlockWait(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  long timeout_ms = info[1].As<Napi::Number>().Int64Value();
  const long deadline = MonotonicMs() + timeout_ms;
  long pause_ms = 1;
  for (;;) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return Napi::Number::New(info.Env(), 0);
    if (errno != EWOULDBLOCK && errno != EINTR) return Napi::Number::New(info.Env(), errno);
    long left = deadline - MonotonicMs();
    if (left <= 0) return Napi::Number::New(info.Env(), ETIMEDOUT);
    long ms = pause_ms < left ? pause_ms : left;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, nullptr);  // a signal cuts it short: the loop re-checks the deadline
    if (pause_ms < 20) pause_ms *= 2;
  }
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

// setNofileSoft(n) -> 0 or errno: this process's soft RLIMIT_NOFILE (the hard one kept), so
// that what it starts inherits n (see src/fds/caller-nofile.ts).
Napi::Value SetNofileSoft(const Napi::CallbackInfo& info) {
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return Napi::Number::New(info.Env(), errno);
  lim.rlim_cur = static_cast<rlim_t>(info[0].As<Napi::Number>().Int64Value());
  return Napi::Number::New(info.Env(), setrlimit(RLIMIT_NOFILE, &lim) != 0 ? errno : 0);
}

}  // namespace

void RegisterProcessOps(Napi::Env env, Napi::Object exports) {
  exports.Set("flock", Napi::Function::New(env, Flock));
  exports.Set("setNofileSoft", Napi::Function::New(env, SetNofileSoft));
  exports.Set("flockWait", Napi::Function::New(env, FlockWait));
  exports.Set("waitForExit", Napi::Function::New(env, WaitForExit));
  exports.Set("pidfdKill", Napi::Function::New(env, PidfdKill));
  exports.Set("reapChild", Napi::Function::New(env, ReapChild));
  exports.Set("mkfifo", Napi::Function::New(env, Mkfifo));
  exports.Set("setChildSubreaper", Napi::Function::New(env, SetChildSubreaper));
}

}  // namespace tsoci
