#include "seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "errors.h"
#include "fd.h"
#include "plan.h"
#include "scm.h"

namespace tsoci {

namespace {

using json = nlohmann::json;

constexpr size_t kMaxInsns = 4096;  // BPF_MAXINSNS

// The connection to listenerPath, made by stage1 in the host's namespaces; stage2
// inherits it, sends the notify fd over it once and closes it.
Fd g_listener;

int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool b64_decode(const std::string& in, std::string& out) {
  out.clear();
  uint32_t acc = 0;
  int bits = 0;
  size_t i = 0;
  for (; i < in.size() && in[i] != '='; i++) {
    int v = b64_value(static_cast<unsigned char>(in[i]));
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  for (; i < in.size(); i++)
    if (in[i] != '=') return false;
  return true;
}

pid_t host_pid(int procfd) {
  // procfd is the host's /proc: "self" names us in the host's PID namespace
  char buf[32];
  ssize_t n = readlinkat(procfd, "self", buf, sizeof buf - 1);
  if (n <= 0) fail("seccomp", "/proc/self", errno, "read our host pid");
  buf[n] = '\0';
  return static_cast<pid_t>(strtol(buf, nullptr, 10));
}

// The state JSON plus one fd (SCM_RIGHTS), like runc's utils.SendRawFd.
void send_state_with_fd(int sock, const std::string& data, int fd, const std::string& path) {
  ssize_t n = tsoci::send_with_fd(sock, data.data(), data.size(), fd);
  if (n < 0) fail("seccomp", path, errno, "send the seccomp fd to the listener " + path);
  size_t done = static_cast<size_t>(n);
  while (done < data.size()) {  // the rest without the fd
    n = send(sock, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("seccomp", path, n < 0 ? errno : EPIPE, "send the container state to the listener " + path);
    done += static_cast<size_t>(n);
  }
}

}  // namespace

void parse_seccomp(const json& plan, SeccompPlan& out) {
  if (!plan.contains("seccomp") || plan.at("seccomp").is_null()) return;
  const json& s = plan.at("seccomp");
  out.present = true;
  if (!b64_decode(s.at("bpf").get<std::string>(), out.bpf))
    fail_msg("plan", "", EINVAL, "seccomp.bpf is not valid base64");
  if (out.bpf.empty() || out.bpf.size() % sizeof(struct sock_filter) != 0 ||
      out.bpf.size() / sizeof(struct sock_filter) > kMaxInsns)
    fail_msg("plan", "", EINVAL,
             "seccomp.bpf: " + std::to_string(out.bpf.size()) + " bytes is not a filter of 1 to 4096 instructions");
  out.flags = s.value("flags", 0u);
  out.listenerPath = s.value("listenerPath", std::string());
  out.listenerState = s.value("listenerState", std::string());
  if (!out.listenerPath.empty()) {
    out.flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    if (!json::accept(out.listenerState.empty() ? "{}" : out.listenerState))
      fail_msg("plan", "", EINVAL, "seccomp.listenerState is not JSON");
  }
}

void seccomp_connect_listener(const Plan& plan) {
  const std::string& path = plan.seccomp.listenerPath;
  if (!plan.seccomp.present || path.empty()) return;
  Fd s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) fail("seccomp", path, errno, "socket");
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    fail_msg("seccomp", path, ENAMETOOLONG, "seccomp listener path too long: " + path);
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int rc;
  do rc = connect(s.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr);
  while (rc < 0 && errno == EINTR);
  // runc's words (seccomp-notify.bats reads them)
  if (rc < 0) fail("seccomp", path, errno, "failed to connect with seccomp agent specified in the seccomp profile: " + path);
  // out of the range the container's fds take (0 .. 3+preserveFds-1)
  int fd = fcntl(s.get(), F_DUPFD_CLOEXEC, 3 + plan.preserveFds);
  if (fd < 0) fail("seccomp", path, errno, "move the seccomp listener fd");
  g_listener = Fd(fd);
}

void seccomp_load(const Plan& plan, int procfd) {
  const SeccompPlan& sp = plan.seccomp;
  if (!sp.present) return;
  bool notify = !sp.listenerPath.empty();
  if (notify && !g_listener) fail_msg("seccomp", sp.listenerPath, EBADF, "seccomp listener is not connected");
  // everything that allocates or reads files happens before the filter is in place
  std::string message;
  if (notify) {
    pid_t pid = host_pid(procfd);
    json j = sp.listenerState.empty() ? json::object() : json::parse(sp.listenerState);
    j["pid"] = pid;
    if (j.contains("state") && j["state"].is_object() && j["state"].value("pid", 0) == 0) j["state"]["pid"] = pid;
    message = j.dump();
  }
  struct sock_fprog prog;
  prog.len = static_cast<unsigned short>(sp.bpf.size() / sizeof(struct sock_filter));
  prog.filter = reinterpret_cast<struct sock_filter*>(const_cast<char*>(sp.bpf.data()));
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, sp.flags, &prog);
  if (rc < 0) fail("seccomp", "", errno, "load the seccomp filter (flags " + std::to_string(sp.flags) + ")");
  if (!notify) {
    if (rc > 0) close(static_cast<int>(rc));  // a listener nobody asked for
    return;
  }
  Fd listenerFd(static_cast<int>(rc));
  send_state_with_fd(g_listener.get(), message, listenerFd.get(), sp.listenerPath);
  g_listener.reset();
}

}  // namespace tsoci
