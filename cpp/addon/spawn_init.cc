#include "spawn_init.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "fd.h"

namespace tsoci {

Napi::Object Failure(Napi::Env env, int err, const char* step) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("errno", err);
  o.Set("step", step);
  return o;
}

Napi::Object ExitObject(Napi::Env env, int status) {
  Napi::Object o = Napi::Object::New(env);
  if (WIFSIGNALED(status)) {
    o.Set("code", env.Null());
    o.Set("signal", WTERMSIG(status));
  } else {
    o.Set("code", WEXITSTATUS(status));
    o.Set("signal", env.Null());
  }
  return o;
}

namespace {

// Owns the posix_spawn attribute and file-action objects.
struct SpawnSetup {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  SpawnSetup() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

// spawnInit(path, argv0, env[], preserveFds) -> {pid, fd} or {errno, step}.
// The child gets fds 0..2 and the preserved fds 3..3+n-1 as they are, the other end of a
// socketpair at 3+n (its sync fd), default signal dispositions and an empty mask (Node
// ignores SIGPIPE and blocks signals in its threads). glibc's posix_spawn uses
// clone(CLONE_VM|CLONE_VFORK): nothing of Node's memory is copied.
Napi::Value SpawnInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  std::string argv0 = info[1].As<Napi::String>();
  Napi::Array envArray = info[2].As<Napi::Array>();
  int preserve = info[3].As<Napi::Number>().Int32Value();
  const int syncTarget = 3 + preserve;

  int sp[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) return Failure(env, errno, "socketpair");
  Fd parentEnd(sp[0]), childEnd(sp[1]);
  // Both ends above the fds the child receives, so no dup2 below overwrites them.
  Fd parentHigh(fcntl(parentEnd.get(), F_DUPFD_CLOEXEC, syncTarget + 1));
  Fd childHigh(fcntl(childEnd.get(), F_DUPFD_CLOEXEC, syncTarget + 1));
  if (!parentHigh || !childHigh) return Failure(env, errno, "dup sync socket");
  parentEnd.reset();
  childEnd.reset();

  SpawnSetup s;
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
  int rc = posix_spawnattr_setflags(&s.attr, flags);
  if (rc == 0) rc = posix_spawnattr_setsigdefault(&s.attr, &all);
  if (rc == 0) rc = posix_spawnattr_setsigmask(&s.attr, &none);
  // dup2 onto itself clears close-on-exec (glibc >= 2.29): the preserved fds pass through
  for (int fd = 0; rc == 0 && fd < syncTarget; fd++)
    if (fcntl(fd, F_GETFD) >= 0) rc = posix_spawn_file_actions_adddup2(&s.actions, fd, fd);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&s.actions, childHigh.get(), syncTarget);
  if (rc != 0) return Failure(env, rc, "posix_spawn setup");

  std::vector<std::string> envStrings;
  for (uint32_t i = 0; i < envArray.Length(); i++) envStrings.push_back(envArray.Get(i).As<Napi::String>());
  std::vector<char*> envp;
  for (auto& e : envStrings) envp.push_back(e.data());
  envp.push_back(nullptr);
  char* argv[] = {argv0.data(), nullptr};

  pid_t pid = -1;
  rc = posix_spawn(&pid, path.c_str(), &s.actions, &s.attr, argv, envp.data());
  if (rc != 0) return Failure(env, rc, "spawn");
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", pid);
  out.Set("fd", parentHigh.release());
  return out;
}


int WaitFor(pid_t pid, int* status) {
  int rc;
  do { rc = waitpid(pid, status, 0); } while (rc < 0 && errno == EINTR);
  return rc < 0 ? errno : 0;
}

// Waits on a threadpool thread, so the event loop keeps forwarding signals meanwhile.
class WaitWorker : public Napi::AsyncWorker {
 public:
  WaitWorker(Napi::Env env, pid_t pid) : Napi::AsyncWorker(env), pid_(pid), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { err_ = WaitFor(pid_, &status_); }
  void OnOK() override {
    Napi::Env env = Env();
    deferred_.Resolve(err_ ? Failure(env, err_, "waitpid") : ExitObject(env, status_));
  }

 private:
  pid_t pid_;
  int status_ = 0;
  int err_ = 0;
  Napi::Promise::Deferred deferred_;
};

// waitChild(pid) -> Promise<{code, signal} | {errno, step}>
Napi::Value WaitChild(const Napi::CallbackInfo& info) {
  auto* worker = new WaitWorker(info.Env(), info[0].As<Napi::Number>().Int32Value());
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

// waitChildSync(pid) -> {code, signal} | {errno, step}
Napi::Value WaitChildSync(const Napi::CallbackInfo& info) {
  int status = 0;
  int err = WaitFor(info[0].As<Napi::Number>().Int32Value(), &status);
  return err ? Failure(info.Env(), err, "waitpid") : ExitObject(info.Env(), status);
}

}  // namespace

void RegisterSpawnInit(Napi::Env env, Napi::Object exports) {
  exports.Set("spawnInit", Napi::Function::New(env, SpawnInit));
  exports.Set("waitChild", Napi::Function::New(env, WaitChild));
  exports.Set("waitChildSync", Napi::Function::New(env, WaitChildSync));
}

}  // namespace tsoci
