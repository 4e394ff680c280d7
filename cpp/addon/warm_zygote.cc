// The warm pool's zygote (src/warm/worker.ts): a process that has loaded everything once and
// forks a worker per request of the supervisor, instead of the supervisor starting a fresh
// Node (~70 ms of CPU) for every command served. It waits here, in C++, never in its event
// loop, so a fork happens with no JavaScript running and nothing pending in libuv; the child
// returns into JavaScript with a loop of its own (uv_loop_fork). The zygote reaps its workers
// and reports their ends on the events pipe it shares with them (lines under PIPE_BUF).
#include "warm.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "fd.h"

// libuv's, exported by node to addons; node-api-headers (what we build against) carry no uv.h
extern "C" int uv_loop_fork(struct uv_loop_s* loop);

namespace tsoci {
namespace {

void Event(int eventsFd, const std::string& line) {
  // one write, under PIPE_BUF: never interleaved with a worker's line
  ssize_t n;
  do n = write(eventsFd, line.data(), line.size());
  while (n < 0 && errno == EINTR);
}

void Reaped(int eventsFd, pid_t pid) {
  int status;
  pid_t got;
  do got = waitpid(pid, &status, 0);  // it has ended: its pidfd said so
  while (got < 0 && errno == EINTR);
  if (got != pid) return;
  char line[128];
  if (WIFSIGNALED(status))
    snprintf(line, sizeof line, "{\"event\":\"exit\",\"pid\":%d,\"signal\":%d}\n", pid, WTERMSIG(status));
  else
    snprintf(line, sizeof line, "{\"event\":\"exit\",\"pid\":%d,\"code\":%d}\n", pid, WEXITSTATUS(status));
  Event(eventsFd, line);
}

// V8 maps its heap MADV_DONTFORK: a child would lose it (and fault on its first object).
// Every mapping is made inheritable again before each fork; V8 keeps adding new ones.
void InheritAllMappings() {
  FILE* maps = fopen("/proc/self/maps", "re");
  if (!maps) return;
  char line[512];
  while (fgets(line, sizeof line, maps)) {
    unsigned long start, end;
    if (sscanf(line, "%lx-%lx", &start, &end) == 2 && end > start)
      madvise(reinterpret_cast<void*>(start), end - start, MADV_DOFORK);  // [vsyscall] and the like refuse: nothing to undo there
    if (!strchr(line, '\n')) {  // a longer line (a long path): skip its rest
      int c;
      while ((c = fgetc(maps)) != EOF && c != '\n') {
      }
    }
  }
  fclose(maps);
}

Napi::Object Result(Napi::Env env, const char* key, Napi::Value value) {
  Napi::Object o = Napi::Object::New(env);
  o.Set(key, value);
  return o;
}

// warmZygote(ctlFd, eventsFd) -> {worker: pid} in a forked child (its own event loop, the
// zygote's fds closed) | {closed: true} in the zygote once the supervisor is gone (ctl at
// EOF, or the events pipe broken) | {error: reason}. Each byte read from ctlFd asks for one
// worker; the zygote reports {"event":"forked"}, and {"event":"exit"} once it reaped it.
// Workers are watched by pidfd, not SIGCHLD: Node's other threads would take that signal.
Napi::Value WarmZygote(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int ctlFd = info[0].As<Napi::Number>().Int32Value();
  int eventsFd = info[1].As<Napi::Number>().Int32Value();
  struct uv_loop_s* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) return Result(env, "error", Napi::String::New(env, "no event loop"));
  std::vector<std::pair<pid_t, Fd>> workers;
  for (;;) {
    std::vector<struct pollfd> p = {{ctlFd, POLLIN, 0}, {eventsFd, 0, 0}};
    for (auto& w : workers) p.push_back({w.second.get(), POLLIN, 0});
    if (poll(p.data(), p.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return Result(env, "error", Napi::String::New(env, std::string("poll: ") + strerror(errno)));
    }
    for (size_t i = p.size(); i-- > 2;) {
      if (!p[i].revents) continue;
      Reaped(eventsFd, workers[i - 2].first);
      workers.erase(workers.begin() + static_cast<long>(i - 2));
    }
    if (p[1].revents & (POLLERR | POLLHUP | POLLNVAL)) break;
    if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    char want;
    ssize_t n = read(ctlFd, &want, 1);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n != 1) break;
    InheritAllMappings();
    pid_t pid = fork();
    if (pid == 0) {
      // Unlike tsoci-init's spawn, this child goes on as a whole process, not to an exec:
      // glibc's fork resets its malloc and stdio locks, so it may allocate; what it cannot
      // have (Node's helper threads) is kept out of its way (see the file's comment).
      workers.clear();
      close(ctlFd);
      // a new epoll set and wake-up fds: the zygote's are shared with it and every sibling
      if (uv_loop_fork(loop) != 0) _exit(70);
      return Result(env, "worker", Napi::Number::New(env, getpid()));
    }
    char line[96];
    if (pid < 0) {
      snprintf(line, sizeof line, "{\"event\":\"fork-failed\",\"pid\":%d,\"errno\":%d}\n", getpid(), errno);
    } else {
      snprintf(line, sizeof line, "{\"event\":\"forked\",\"pid\":%d}\n", pid);
      // it cannot be reaped (nor its pid reused) before we wait for it: the pidfd is its
      Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
      if (pidfd) workers.emplace_back(pid, std::move(pidfd));
    }
    Event(eventsFd, line);
  }
  return Result(env, "closed", Napi::Boolean::New(env, true));
}

// warmQuit(status): a forked worker's way out without a command to report to. Node's own exit
// would join the platform's threads, which a fork does not copy: it would wait for ever.
Napi::Value WarmQuit(const Napi::CallbackInfo& info) {
  _exit(info[0].As<Napi::Number>().Int32Value());
}

}  // namespace

void RegisterWarmZygote(Napi::Env env, Napi::Object exports) {
  exports.Set("warmZygote", Napi::Function::New(env, WarmZygote));
  exports.Set("warmQuit", Napi::Function::New(env, WarmQuit));
}

}  // namespace tsoci
