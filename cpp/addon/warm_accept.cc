// A warm worker's side of the handshake (cpp/common/warm_protocol.h): wait for a launcher on
// the pool's listening socket, read its request and the caller's fds 0-2, answer it; once it
// said "go", put the caller's stdio on 0-2. The checks themselves are policy (src/warm/).
#include "warm.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "fd.h"
#include "read_full.h"
#include "rlimit_names.h"
#include "scm.h"
#include "warm_protocol.h"

namespace tsoci {
namespace {

// A launcher sends its whole request at once; one that stalls is not worth more than this.
constexpr int kRequestTimeoutMs = 1000;
// Every idle worker wakes for a connection and one wins it: a loser's accept on the blocking
// listener would wait for the next connection, deaf to the supervisor's end (fd 4). The
// socket's receive timeout bounds accept too (unix sockets), so it polls again.
constexpr int kAcceptTimeoutMs = 200;

Napi::Object Error(Napi::Env env, const std::string& reason) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("error", reason);
  return o;
}

std::string Why(const char* step, int err) { return std::string(step) + ": " + strerror(err); }

// Reads the header with its fds, then the strings: true, or false with *why set.
bool ReadRequest(int sock, std::vector<int>& fds, std::string& body, std::string& why) {
  warm::RequestHeader h;
  int got[kMaxScmFds];
  size_t count = 0;
  ssize_t n = recv_with_fds(sock, &h, sizeof h, got, kMaxScmFds, &count, MSG_WAITALL);
  fds.assign(got, got + count);
  if (n != static_cast<ssize_t>(sizeof h)) {
    why = n == 0 ? "the caller gave up before the request arrived" : Why("read the request", n < 0 ? errno : EPROTO);
    return false;
  }
  if (memcmp(h.magic, warm::kMagic, sizeof h.magic) != 0 || h.length > warm::kMaxRequest || fds.size() != 3 || h.fds != 3) {
    why = "malformed request";
    return false;
  }
  body.resize(h.length);
  if (!read_full(sock, body.data(), h.length)) {
    why = Why("read the request", errno);
    return false;
  }
  return true;
}

// warmAccept(listenFd, eventsFd) -> {fd, pid, uid, body: Buffer, stdio: [fd, fd, fd]}
//   | {error: reason} (a connection dropped; accept again) | {closed: true} (events fd gone).
// Blocks: an idle worker has nothing else to do.
Napi::Value WarmAccept(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int listenFd = info[0].As<Napi::Number>().Int32Value();
  int eventsFd = info[1].As<Napi::Number>().Int32Value();
  struct timeval bound = {0, kAcceptTimeoutMs * 1000};
  setsockopt(listenFd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);  // the same for every worker
  for (;;) {
    struct pollfd p[2] = {{listenFd, POLLIN, 0}, {eventsFd, 0, 0}};
    int ready = poll(p, 2, -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0 || (p[1].revents & (POLLERR | POLLHUP | POLLNVAL)) || (p[0].revents & (POLLERR | POLLHUP | POLLNVAL))) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("closed", true);
      return o;
    }
    if (!(p[0].revents & POLLIN)) continue;
    Fd sock(accept4(listenFd, nullptr, nullptr, SOCK_CLOEXEC));
    if (!sock) {
      if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) continue;
      return Error(env, Why("accept", errno));
    }
    struct timeval tv = {kRequestTimeoutMs / 1000, (kRequestTimeoutMs % 1000) * 1000};
    setsockopt(sock.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct ucred peer;
    socklen_t len = sizeof peer;
    if (getsockopt(sock.get(), SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0) return Error(env, Why("SO_PEERCRED", errno));
    std::vector<int> fds;
    std::string body, why;
    bool ok = ReadRequest(sock.get(), fds, body, why);
    if (!ok) {
      for (int fd : fds) close(fd);
      return Error(env, why);
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("pid", static_cast<int>(peer.pid));
    o.Set("uid", static_cast<int>(peer.uid));
    o.Set("body", Napi::Buffer<char>::Copy(env, body.data(), body.size()));
    Napi::Array stdio = Napi::Array::New(env, 3);
    for (uint32_t i = 0; i < 3; i++) stdio.Set(i, fds[i]);
    o.Set("stdio", stdio);
    o.Set("fd", sock.release());
    return o;
  }
}

// warmAnswer(fd, accept, reason) -> true once the launcher said "go" (accept only). A refusal
// or a launcher that gave up: false, and the connection is closed.
Napi::Value WarmAnswer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool accept = info[1].As<Napi::Boolean>().Value();
  std::string reason = info[2].As<Napi::String>();
  std::string answer = std::string(1, warm::kRefuse) + reason + "\n";
  Fd self;
  if (accept) {
    warm::Accept a = {warm::kAccept, {0, 0, 0}, static_cast<int32_t>(getpid())};
    answer.assign(reinterpret_cast<const char*>(&a), sizeof a);
    self.reset(static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0)));
  }
  ssize_t n = (accept && !self) ? -1 : send_with_fd(fd, answer.data(), answer.size(), self.get());
  char go = 0;
  if (accept && n == static_cast<ssize_t>(answer.size())) {
    do n = recv(fd, &go, 1, 0);  // SO_RCVTIMEO bounds it; the launcher answers at once or has closed
    while (n < 0 && errno == EINTR);
    if (n == 1 && go == warm::kGo) {
      struct timeval none = {0, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
      return Napi::Boolean::New(env, true);
    }
  }
  close(fd);
  return Napi::Boolean::New(env, false);
}

// warmAdoptStdio([a, b, c]) -> 0 or errno: the caller's fds become 0, 1, 2.
Napi::Value WarmAdoptStdio(const Napi::CallbackInfo& info) {
  Napi::Array fds = info[0].As<Napi::Array>();
  int err = 0;
  for (uint32_t i = 0; i < 3; i++) {
    int fd = fds.Get(i).As<Napi::Number>().Int32Value();
    if (fd == static_cast<int>(i)) continue;
    if (dup2(fd, static_cast<int>(i)) < 0 && !err) err = errno;
  }
  for (uint32_t i = 0; i < 3; i++) {
    int fd = fds.Get(i).As<Napi::Number>().Int32Value();
    if (fd > 2) close(fd);
  }
  return Napi::Number::New(info.Env(), err);
}

// warmAdoptRlimits(pid) -> "" once this worker has every resource limit of process `pid` (the
// launcher: the caller's), or why not, before any is changed where it can tell. What the worker
// starts (hooks) then gets the caller's limits, as from a cold tsoci. A caller whose address
// space or data is limited runs cold: V8 cannot live under such a limit once started (a cold
// Node fails at its start, before it does anything; a worker would fail in mid-command).
Napi::Value WarmAdoptRlimits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  struct rlimit limits[RLIM_NLIMITS];
  for (int r = 0; r < RLIM_NLIMITS; r++) {
    if (prlimit(pid, static_cast<__rlimit_resource>(r), nullptr, &limits[r]) != 0)
      return Napi::String::New(env, std::string("read the caller's ") + rlimit_name(r) + ": " + strerror(errno));
  }
  for (int r : {RLIMIT_AS, RLIMIT_DATA})
    if (limits[r].rlim_cur != RLIM_INFINITY) return Napi::String::New(env, std::string("the caller's ") + rlimit_name(r) + " is limited");
  for (int r = 0; r < RLIM_NLIMITS; r++) {
    if (prlimit(0, static_cast<__rlimit_resource>(r), &limits[r], nullptr) != 0)
      return Napi::String::New(env, std::string("take the caller's ") + rlimit_name(r) + ": " + strerror(errno));
  }
  return Napi::String::New(env, "");
}

}  // namespace

void RegisterWarmAccept(Napi::Env env, Napi::Object exports) {
  exports.Set("warmAccept", Napi::Function::New(env, WarmAccept));
  exports.Set("warmAnswer", Napi::Function::New(env, WarmAnswer));
  exports.Set("warmAdoptStdio", Napi::Function::New(env, WarmAdoptStdio));
  exports.Set("warmAdoptRlimits", Napi::Function::New(env, WarmAdoptRlimits));
}

}  // namespace tsoci
