// The receiving side of --console-socket: what `tsoci run`/`exec` use when they relay a
// container's terminal themselves, and what tests use to play conmon.
//
//   consoleListen(path[, backlog])  -> fd >= 0 | {errno, error}
//        a blocking listening socket (close-on-exec), backlog 4 unless given (the warm pool's is larger)
//   consoleRecvFd(fd, timeoutMs)    -> {fd, name} | {errno, error}
//        fd may be a listening socket (one connection is accepted) or a connected one
//   setWinsize(fd, rows, cols)      -> 0 | errno
//   getWinsize(fd)                  -> {rows, cols} | {errno, error}
//   ttyMakeRaw(fd)                  -> Buffer (the previous termios) | {errno, error}
//        cfmakeraw(3) with output processing kept on, like runc's (containerd/console's)
//        SetRaw: the container's pty sends "\n" (see ttyClearOnlcr), our terminal makes it "\r\n"
//   ttyClearOnlcr(fd)               -> 0 | errno
//        no NL -> CR NL output mapping on a pty (runc's ClearONLCR on the container's
//        pty when it relays it: output piped to a file has plain "\n", as from runc)
//   ttyRestore(fd, saved)           -> 0 | errno
//   pidfdSend(path, pid)            -> 0 | {errno, error}
//        --pidfd-socket (runc): a pidfd of `pid` sent over a connection to the socket
//
// Waiting is bounded by timeoutMs: tsoci calls consoleRecvFd only once the init has
// reported "ready", i.e. after the master was sent, so it does not block in practice.
#include "console.h"

#include <errno.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <string>

#include "fd.h"
#include "scm.h"

namespace tsoci {
namespace {

std::string ErrnoText(int err) {
  const char* desc = strerrordesc_np(err);
  const char* name = strerrorname_np(err);
  std::string s = desc ? desc : ("errno " + std::to_string(err));
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  if (name) s += std::string(" (") + name + ")";
  return s;
}

Napi::Object ErrnoObject(Napi::Env env, int err, const std::string& what) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("errno", err);
  o.Set("error", what + ": " + ErrnoText(err));
  return o;
}

long long NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

// 0 when readable, ETIMEDOUT, or errno
int WaitReadable(int fd, long long deadline) {
  for (;;) {
    long long left = deadline - NowMs();
    if (left < 0) left = 0;
    struct pollfd p = {fd, POLLIN, 0};
    int rc = poll(&p, 1, static_cast<int>(left));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return errno;
    if (rc == 0) return ETIMEDOUT;
    return 0;
  }
}

Napi::Value ConsoleListen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return ErrnoObject(env, ENAMETOOLONG, "listen on " + path);
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  Fd s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (s.get() < 0) return ErrnoObject(env, errno, "socket");
  if (bind(s.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0)
    return ErrnoObject(env, errno, "bind " + path);
  int backlog = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 4;
  if (listen(s.get(), backlog) < 0) return ErrnoObject(env, errno, "listen on " + path);
  return Napi::Number::New(env, s.release());
}

Napi::Value ConsoleRecvFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  long long deadline = NowMs() + info[1].As<Napi::Number>().Int64Value();

  int listening = 0;
  socklen_t len = sizeof listening;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0)
    return ErrnoObject(env, errno, "console socket");
  int c = -1;
  if (listening) {
    int err = WaitReadable(fd, deadline);
    if (err) return ErrnoObject(env, err, "wait for a connection on the console socket");
    do {
      c = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    } while (c < 0 && errno == EINTR);
    if (c < 0) return ErrnoObject(env, errno, "accept on the console socket");
  }
  Fd accepted(c);
  int conn = listening ? c : fd;
  int err = WaitReadable(conn, deadline);
  if (err) return ErrnoObject(env, err, "wait for the pty master on the console socket");

  char name[4096];
  int received = -1;
  ssize_t n = recv_with_fd(conn, name, sizeof name - 1, &received);
  if (n < 0) return ErrnoObject(env, errno, "receive the pty master");
  if (received < 0) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("errno", n == 0 ? EPIPE : EBADMSG);
    o.Set("error", n == 0 ? "the console socket was closed before a pty master was sent"
                          : "a message without a file descriptor arrived on the console socket");
    return o;
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("fd", received);
  o.Set("name", std::string(name, static_cast<size_t>(n)));
  return o;
}

Napi::Value SetWinsize(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct winsize ws = {};
  ws.ws_row = static_cast<unsigned short>(info[1].As<Napi::Number>().Uint32Value());
  ws.ws_col = static_cast<unsigned short>(info[2].As<Napi::Number>().Uint32Value());
  return Napi::Number::New(info.Env(), ioctl(fd, TIOCSWINSZ, &ws) < 0 ? errno : 0);
}

Napi::Value GetWinsize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct winsize ws = {};
  if (ioctl(fd, TIOCGWINSZ, &ws) < 0) return ErrnoObject(env, errno, "TIOCGWINSZ");
  Napi::Object o = Napi::Object::New(env);
  o.Set("rows", ws.ws_row);
  o.Set("cols", ws.ws_col);
  return o;
}

Napi::Value TtyMakeRaw(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct termios saved;
  if (tcgetattr(fd, &saved) < 0) return ErrnoObject(env, errno, "tcgetattr");
  struct termios raw = saved;
  cfmakeraw(&raw);
  raw.c_oflag |= OPOST;
  if (tcsetattr(fd, TCSANOW, &raw) < 0) return ErrnoObject(env, errno, "tcsetattr");
  return Napi::Buffer<char>::Copy(env, reinterpret_cast<const char*>(&saved), sizeof saved);
}

Napi::Value TtyClearOnlcr(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct termios t;
  if (tcgetattr(fd, &t) < 0) return Napi::Number::New(info.Env(), errno);
  t.c_oflag &= ~static_cast<tcflag_t>(ONLCR);
  return Napi::Number::New(info.Env(), tcsetattr(fd, TCSANOW, &t) < 0 ? errno : 0);
}

Napi::Value PidfdSend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int pid = info[1].As<Napi::Number>().Int32Value();
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return ErrnoObject(env, ENAMETOOLONG, "connect pidfd socket " + path);
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (pidfd.get() < 0) return ErrnoObject(env, errno, "pidfd_open " + std::to_string(pid));
  Fd s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (s.get() < 0) return ErrnoObject(env, errno, "socket");
  int rc;
  do {
    rc = connect(s.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return ErrnoObject(env, errno, "connect pidfd socket " + path);
  const char name[] = "pidfd";
  if (send_with_fd(s.get(), name, sizeof name - 1, pidfd.get()) < 0) return ErrnoObject(env, errno, "send pidfd to " + path);
  return Napi::Number::New(env, 0);
}

Napi::Value TtyRestore(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Buffer<char> buf = info[1].As<Napi::Buffer<char>>();
  if (buf.Length() != sizeof(struct termios)) return Napi::Number::New(info.Env(), EINVAL);
  struct termios saved;
  memcpy(&saved, buf.Data(), sizeof saved);
  return Napi::Number::New(info.Env(), tcsetattr(fd, TCSANOW, &saved) < 0 ? errno : 0);
}

}  // namespace

void RegisterConsole(Napi::Env env, Napi::Object exports) {
  exports.Set("consoleListen", Napi::Function::New(env, ConsoleListen));
  exports.Set("consoleRecvFd", Napi::Function::New(env, ConsoleRecvFd));
  exports.Set("setWinsize", Napi::Function::New(env, SetWinsize));
  exports.Set("getWinsize", Napi::Function::New(env, GetWinsize));
  exports.Set("ttyMakeRaw", Napi::Function::New(env, TtyMakeRaw));
  exports.Set("ttyRestore", Napi::Function::New(env, TtyRestore));
  exports.Set("ttyClearOnlcr", Napi::Function::New(env, TtyClearOnlcr));
  exports.Set("pidfdSend", Napi::Function::New(env, PidfdSend));
}

}  // namespace tsoci
