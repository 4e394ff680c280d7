// The transport of CRIU's RPC (swrk mode): Node has no SOCK_SEQPACKET sockets.
//
//   seqpacketPair()                 -> [ours, theirs] (both close-on-exec) | {errno, error}
//   seqpacketSend(fd, buffer)       -> 0 | errno          (one packet)
//   seqpacketRecv(fd, timeoutMs)    -> {data, fd} | {errno, error}
//        one packet; data is empty at EOF (CRIU exited); fd is an attached fd or -1.
//        timeoutMs < 0 waits without limit (CRIU's exit ends the wait: EOF)
//   sendFdToSocket(path, fd, name)  -> 0 | {errno, error}
//        connects to a unix socket (the --console-socket) and sends fd with `name`
//   bindMount(source, target)       -> 0 | {errno, error}   (MS_BIND|MS_REC: CRIU's restore root)
//   umountDetach(target)            -> 0 | errno
#include "criu.h"

#include <errno.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <string>
#include <vector>

#include "fd.h"
#include "scm.h"

namespace tsoci {
namespace {

std::string ErrnoText(int err) {
  const char* desc = strerrordesc_np(err);
  std::string s = desc ? desc : ("errno " + std::to_string(err));
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

Napi::Object ErrnoObject(Napi::Env env, int err, const std::string& what) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("errno", err);
  o.Set("error", what + ": " + ErrnoText(err));
  return o;
}

Napi::Value SeqpacketPair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0) return ErrnoObject(env, errno, "socketpair");
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, fds[0]);
  a.Set(1u, fds[1]);
  return a;
}

Napi::Value SeqpacketSend(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Buffer<uint8_t> buf = info[1].As<Napi::Buffer<uint8_t>>();
  ssize_t n = send_with_fd(fd, buf.Data(), buf.Length(), -1);
  if (n < 0) return Napi::Number::New(info.Env(), errno);
  return Napi::Number::New(info.Env(), static_cast<size_t>(n) == buf.Length() ? 0 : EMSGSIZE);
}

Napi::Value SeqpacketRecv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  int timeout = info[1].As<Napi::Number>().Int32Value();
  struct pollfd p = {fd, POLLIN, 0};
  for (;;) {
    int rc = poll(&p, 1, timeout < 0 ? -1 : timeout);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return ErrnoObject(env, errno, "wait for criu");
    if (rc == 0) return ErrnoObject(env, ETIMEDOUT, "wait for criu");
    break;
  }
  // CRIU's answers are small; a larger packet is truncated, and reported as such
  std::vector<uint8_t> data(1 << 20);
  int received = -1;
  ssize_t n = recv_with_fd(fd, data.data(), data.size(), &received);
  if (n < 0) return ErrnoObject(env, errno, "receive from criu");
  Napi::Object o = Napi::Object::New(env);
  o.Set("data", Napi::Buffer<uint8_t>::Copy(env, data.data(), static_cast<size_t>(n)));
  o.Set("fd", received);
  return o;
}

Napi::Value SendFdToSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int fd = info[1].As<Napi::Number>().Int32Value();
  std::string name = info[2].As<Napi::String>().Utf8Value();
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return ErrnoObject(env, ENAMETOOLONG, "connect to console socket " + path);
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  Fd s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return ErrnoObject(env, errno, "socket");
  int rc;
  do rc = connect(s.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr);
  while (rc < 0 && errno == EINTR);
  if (rc < 0) return ErrnoObject(env, errno, "connect to console socket " + path);
  if (send_with_fd(s.get(), name.data(), name.size(), fd) < 0)
    return ErrnoObject(env, errno, "send the pty master to console socket " + path);
  return Napi::Number::New(env, 0);
}

Napi::Value BindMount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string source = info[0].As<Napi::String>().Utf8Value();
  std::string target = info[1].As<Napi::String>().Utf8Value();
  if (mount(source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
    return ErrnoObject(env, errno, "bind mount " + source + " on " + target);
  return Napi::Number::New(env, 0);
}

Napi::Value UmountDetach(const Napi::CallbackInfo& info) {
  std::string target = info[0].As<Napi::String>().Utf8Value();
  return Napi::Number::New(info.Env(), umount2(target.c_str(), MNT_DETACH) < 0 ? errno : 0);
}

}  // namespace

void RegisterCriu(Napi::Env env, Napi::Object exports) {
  exports.Set("seqpacketPair", Napi::Function::New(env, SeqpacketPair));
  exports.Set("seqpacketSend", Napi::Function::New(env, SeqpacketSend));
  exports.Set("seqpacketRecv", Napi::Function::New(env, SeqpacketRecv));
  exports.Set("sendFdToSocket", Napi::Function::New(env, SendFdToSocket));
  exports.Set("bindMount", Napi::Function::New(env, BindMount));
  exports.Set("umountDetach", Napi::Function::New(env, UmountDetach));
}

}  // namespace tsoci
