// A warm worker's requests to its launcher (cpp/common/warm_protocol.h): the launcher spawns,
// waits and reaps, because the container's init must be the caller's descendant. Blocking
// request/reply on the connection, except waitChild, whose status comes on a socket of its
// own and is read on a thread (a foreground run waits for hours while Node relays signals).
#include "warm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "fd.h"
#include "read_full.h"
#include "scm.h"
#include "spawn_init.h"
#include "warm_protocol.h"

namespace tsoci {
namespace {

bool SendOp(int conn, uint32_t code, int32_t arg, const std::string& payload, int fd) {
  warm::Op op = {code, arg, static_cast<uint32_t>(payload.size())};
  std::string msg(reinterpret_cast<const char*>(&op), sizeof op);
  msg += payload;
  ssize_t n = send_with_fd(conn, msg.data(), msg.size(), fd);
  return n == static_cast<ssize_t>(msg.size());  // the connection is blocking: all or an error
}

bool ReadReply(int fd, warm::Reply* r) { return read_full(fd, r, sizeof *r); }

// The launcher's end is gone (SendOp or ReadReply failed: the launcher died, or broke the
// protocol): nobody waits for this command any more. End at once, as WatchLauncher does,
// rather than return an error that the command would act on (its clean-up racing the
// watcher's SIGKILL left a half-removed state directory).
[[noreturn]] void LauncherGone() {
  kill(getpid(), SIGKILL);
  for (;;) pause();
}

const char* StepName(int32_t step) {
  switch (step) {
    case warm::kStepMessage: return "launcher: request";
    case warm::kStepDupSync: return "launcher: dup sync socket";
    case warm::kStepSpawnSetup: return "launcher: posix_spawn setup";
    case warm::kStepSpawn: return "launcher: spawn";
    case warm::kStepWaitpid: return "launcher: waitpid";
    case warm::kStepPidfd: return "launcher: pidfd_open";
    case warm::kStepPrctl: return "launcher: prctl";
    case warm::kStepTooMany: return "launcher: too many waits";
    default: return "launcher";
  }
}



// warmCall(conn, code, arg) -> {err, value, step}: one request without payload and its reply.
Napi::Value WarmCall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int conn = info[0].As<Napi::Number>().Int32Value();
  uint32_t code = info[1].As<Napi::Number>().Uint32Value();
  int32_t arg = info[2].As<Napi::Number>().Int32Value();
  warm::Reply r = {0, 0, 0};
  if (!SendOp(conn, code, arg, "", -1) || (code != warm::kExit && !ReadReply(conn, &r))) {
    if (code != warm::kExit) LauncherGone();
    r = {errno ? errno : EPIPE, 0, 0};
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("err", r.err);
  o.Set("value", r.value);
  o.Set("step", StepName(r.step));
  return o;
}

// warmSpawnInit(conn, path, argv0, env[], preserveFds) -> {pid, fd} | {errno, step}
Napi::Value WarmSpawnInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int conn = info[0].As<Napi::Number>().Int32Value();
  std::string payload = info[1].As<Napi::String>().Utf8Value() + '\0' + info[2].As<Napi::String>().Utf8Value() + '\0';
  Napi::Array envArray = info[3].As<Napi::Array>();
  for (uint32_t i = 0; i < envArray.Length(); i++) payload += envArray.Get(i).As<Napi::String>().Utf8Value() + '\0';
  int preserve = info[4].As<Napi::Number>().Int32Value();
  int sp[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) return Failure(env, errno, "socketpair");
  Fd ours(sp[0]), theirs(sp[1]);
  warm::Reply r;
  if (!SendOp(conn, warm::kSpawnInit, preserve, payload, theirs.get()) || !ReadReply(conn, &r)) LauncherGone();
  if (r.err) return Failure(env, r.err, StepName(r.step));
  Napi::Object o = Napi::Object::New(env);
  o.Set("pid", r.value);
  o.Set("fd", ours.release());
  return o;
}

// Reads one wait reply on its own socket on a threadpool thread.
class WaitReply : public Napi::AsyncWorker {
 public:
  WaitReply(Napi::Env env, int fd) : Napi::AsyncWorker(env), fd_(fd), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    if (!ReadReply(fd_.get(), &reply_)) LauncherGone();
  }
  void OnOK() override {
    Napi::Env env = Env();
    deferred_.Resolve(reply_.err ? Failure(env, reply_.err, StepName(reply_.step)) : ExitObject(env, reply_.value));
  }

 private:
  Fd fd_;
  warm::Reply reply_ = {0, 0, 0};
  Napi::Promise::Deferred deferred_;
};

// warmWaitChild(conn, pid) -> Promise<{code, signal} | {errno, step}>
Napi::Value WarmWaitChild(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int conn = info[0].As<Napi::Number>().Int32Value();
  int pid = info[1].As<Napi::Number>().Int32Value();
  int sp[2];
  auto fail = [&](int err, const char* step) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Resolve(Failure(env, err, step));
    return d.Promise();
  };
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) return fail(errno, "socketpair");
  Fd ours(sp[0]), theirs(sp[1]);
  if (!SendOp(conn, warm::kWait, pid, "", theirs.get())) LauncherGone();
  theirs.reset();
  auto* worker = new WaitReply(env, ours.release());
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

// waitChildSync's reply comes on the connection itself.
Napi::Value WarmWaitChildSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int conn = info[0].As<Napi::Number>().Int32Value();
  int pid = info[1].As<Napi::Number>().Int32Value();
  warm::Reply r;
  if (!SendOp(conn, warm::kWait, pid, "", -1) || !ReadReply(conn, &r)) LauncherGone();
  return r.err ? Failure(env, r.err, StepName(r.step)) : ExitObject(env, r.value);
}

// warmExit(conn, status): tells the launcher the command's status and ends this process at
// once. Node's own teardown (V8 heap, platform threads) would take ~8 ms that the caller waits
// for: the launcher exits only once the worker is gone (its locks and its copy of the
// caller's stdout released). Output is already written: Node writes to files, pipes and
// terminals synchronously.
Napi::Value WarmExit(const Napi::CallbackInfo& info) {
  int conn = info[0].As<Napi::Number>().Int32Value();
  int status = info[1].As<Napi::Number>().Int32Value();
  SendOp(conn, warm::kExit, status, "", -1);
  _exit(status & 0xff);
}

void* WatchLauncher(void* arg) {
  int conn = static_cast<int>(reinterpret_cast<intptr_t>(arg));
  for (;;) {
    struct pollfd p = {conn, POLLRDHUP, 0};
    int n = poll(&p, 1, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))) break;
  }
  // the caller's launcher is gone: end as a cold tsoci ends with its caller's process
  kill(getpid(), SIGKILL);
  return nullptr;
}

// warmWatchLauncher(conn) -> 0 or errno: a thread that kills this process when the launcher
// closes its end (it died: nobody waits for this command any more).
Napi::Value WarmWatchLauncher(const Napi::CallbackInfo& info) {
  int conn = info[0].As<Napi::Number>().Int32Value();
  pthread_t t;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);  // signals stay Node's
  int rc = pthread_create(&t, nullptr, WatchLauncher, reinterpret_cast<void*>(static_cast<intptr_t>(conn)));
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (rc == 0) pthread_detach(t);
  return Napi::Number::New(info.Env(), rc);
}

}  // namespace

void RegisterWarmHost(Napi::Env env, Napi::Object exports) {
  exports.Set("warmCall", Napi::Function::New(env, WarmCall));
  exports.Set("warmSpawnInit", Napi::Function::New(env, WarmSpawnInit));
  exports.Set("warmWaitChild", Napi::Function::New(env, WarmWaitChild));
  exports.Set("warmWaitChildSync", Napi::Function::New(env, WarmWaitChildSync));
  exports.Set("warmWatchLauncher", Napi::Function::New(env, WarmWatchLauncher));
  exports.Set("warmExit", Napi::Function::New(env, WarmExit));
}

}  // namespace tsoci
