// The handshake: find the pool's socket, check its owner, send the request with fds 0-2,
// and wait a few ms for a worker's 'A'. Everything here may fail quietly: the caller then
// execs Node (the cold path) as if there were no pool. TSOCI_WARM_DEBUG=1 says why on stderr.
#include "warm_client.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fd.h"
#include "scm.h"
#include "warm_protocol.h"
#include "warm_serve.h"

extern char** environ;

namespace tsoci {
namespace {

// How long a launcher waits for a worker to take its request. An idle worker answers in
// well under 1 ms. When a burst has taken every idle worker, the zygote forks a replacement
// for each in a few ms, but on a busy host the queue of launchers drains more slowly: the
// cold path costs ~70 ms of CPU more, so it is worth waiting for a worker up to this long
// (20 parallel creates on 2 cores: 43 of 120 commands went cold with 10 ms, 12 with 100 ms).
// TSOCI_WARM_WAIT_MS (0-10000) changes it: a test that must go warm on a loaded host.
constexpr long kAcceptWaitMs = 100;

long AcceptWaitMs() {
  const char* text = getenv("TSOCI_WARM_WAIT_MS");
  char* end = nullptr;
  long v = text && *text ? strtol(text, &end, 10) : -1;
  return end && *end == '\0' && v >= 0 && v <= 10000 ? v : kAcceptWaitMs;
}

bool debugOn = false;
bool Cold(const char* why, int err = 0) {
  if (debugOn) dprintf(2, "tsoci: warm: cold path: %s%s%s\n", why, err ? ": " : "", err ? strerror(err) : "");
  return false;
}

// The pool's socket (the contract): $TSOCI_WARM_DIR, else /run/tsoci/.warm for root, else
// $XDG_RUNTIME_DIR/tsoci/.warm; no XDG_RUNTIME_DIR: no pool.
bool PoolSocket(struct sockaddr_un& addr) {
  const char* dir = getenv("TSOCI_WARM_DIR");
  const char* tail = "/pool.sock";
  if (!dir || !*dir) {
    if (geteuid() == 0) {
      dir = "/run/tsoci/.warm";
    } else {
      dir = getenv("XDG_RUNTIME_DIR");
      if (!dir || !*dir) return false;
      tail = "/tsoci/.warm/pool.sock";
    }
  }
  int n = snprintf(addr.sun_path, sizeof addr.sun_path, "%s%s", dir, tail);
  return n > 0 && static_cast<size_t>(n) < sizeof addr.sun_path;
}

// The command word: the first argument that is not a global flag (or a global flag's value).
const char* CommandWord(int argc, char** argv) {
  static const char* const withValue[] = {"--root", "--log", "--log-format", "--criu", "--rootless"};
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
    if (a[0] != '-') return a;
    if (strchr(a, '=')) continue;
    for (const char* f : withValue)
      if (strcmp(a, f) == 0) i++;
  }
  return "";
}

long NowUs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000L + ts.tv_nsec / 1000L;
}
long NowMs() { return NowUs() / 1000; }

// Waits for `events` on fd until the deadline: true when ready.
bool WaitFor(int fd, short events, long deadline) {
  for (;;) {
    long left = deadline - NowMs();
    if (left < 0) left = 0;
    struct pollfd p = {fd, events, 0};
    int n = poll(&p, 1, static_cast<int>(left));
    if (n > 0) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

// The request's strings: build id, cwd, umask, record, argc, the arguments, the environment.
char* BuildRequest(int argc, char** argv, const char* record, uint32_t* length) {
  char cwd[4096];
  if (!getcwd(cwd, sizeof cwd)) return nullptr;  // a deleted or too long cwd: cold reports it
  mode_t mask = umask(0);
  umask(mask);
  char maskText[16], argcText[16];
  snprintf(maskText, sizeof maskText, "%o", static_cast<unsigned>(mask));
  snprintf(argcText, sizeof argcText, "%d", argc - 1);
  const char* head[] = {TSOCI_BUILD_ID, cwd, maskText, record, argcText};
  size_t total = 0;
  for (const char* s : head) total += strlen(s) + 1;
  for (int i = 1; i < argc; i++) total += strlen(argv[i]) + 1;
  for (char** e = environ; *e; e++) total += strlen(*e) + 1;
  if (total > warm::kMaxRequest) return nullptr;
  char* buf = static_cast<char*>(malloc(total));
  if (!buf) return nullptr;
  char* p = buf;
  auto put = [&p](const char* s) {
    size_t n = strlen(s) + 1;
    memcpy(p, s, n);
    p += n;
  };
  for (const char* s : head) put(s);
  for (int i = 1; i < argc; i++) put(argv[i]);
  for (char** e = environ; *e; e++) put(*e);
  *length = static_cast<uint32_t>(total);
  return buf;
}

// Sends the header (with fds 0, 1, 2) and the strings on the non-blocking socket.
bool SendRequest(int sock, const char* body, uint32_t length, long deadline) {
  warm::RequestHeader h;
  memcpy(h.magic, warm::kMagic, sizeof h.magic);
  h.length = length;
  h.fds = 3;
  const int stdio[3] = {0, 1, 2};
  ssize_t n = send_with_fds(sock, &h, sizeof h, stdio, 3);
  if (n != static_cast<ssize_t>(sizeof h)) return Cold("send the request", n < 0 ? errno : EIO);
  for (uint32_t off = 0; off < length;) {
    n = send(sock, body + off, length - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<uint32_t>(n);
    } else if (n < 0 && errno == EAGAIN) {
      if (!WaitFor(sock, POLLOUT, deadline)) return Cold("send the request", ETIMEDOUT);
    } else if (n < 0 && errno != EINTR) {
      return Cold("send the request", errno);
    }
  }
  return true;
}

}  // namespace

void TryWarm(int argc, char** argv, const char* record) {
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  struct stat st;
  if (!PoolSocket(addr) || stat(addr.sun_path, &st) != 0) return;  // no pool: one failed syscall
  debugOn = getenv("TSOCI_WARM_DEBUG") != nullptr;
  // another user's pool (or a path squatted by one): not even a connection
  if (st.st_uid != geteuid() || !S_ISSOCK(st.st_mode)) return (void)Cold("the pool's socket belongs to another user or is not a socket");
  if (strcmp(CommandWord(argc, argv), "warm") == 0) return (void)Cold("`warm` is never served by the pool");
  const long start = NowUs();
  const long deadline = start / 1000 + AcceptWaitMs();
  Fd sock(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!sock) return (void)Cold("socket", errno);
  if (connect(sock.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0) return (void)Cold(addr.sun_path, errno);
  struct ucred peer;
  socklen_t len = sizeof peer;
  if (getsockopt(sock.get(), SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0) return (void)Cold("SO_PEERCRED", errno);
  if (peer.uid != geteuid() || peer.pid <= 0) return (void)Cold("the pool's socket belongs to another user");

  uint32_t length = 0;
  char* body = BuildRequest(argc, argv, record, &length);
  if (!body) return (void)Cold("build the request", errno ? errno : E2BIG);
  bool sent = SendRequest(sock.get(), body, length, deadline);
  free(body);
  if (!sent) return;
  warm::Accept answer = {};
  int pidfd = -1;
  if (!WaitFor(sock.get(), POLLIN, deadline)) return (void)Cold("no worker answered in time");
  ssize_t n = recv_with_fd(sock.get(), &answer, sizeof answer, &pidfd);
  Fd worker(pidfd);
  if (n != static_cast<ssize_t>(sizeof answer) || answer.tag != warm::kAccept || !worker)
    return (void)Cold(n > 0 && answer.tag == warm::kRefuse ? "refused by the worker" : "no acceptance from the worker", n < 0 ? errno : 0);

  // Committed once 'G' is sent: signals are held from here, to be relayed to the worker.
  sigset_t relayed, previous;
  RelayedSignals(&relayed);
  sigprocmask(SIG_BLOCK, &relayed, &previous);
  char go = warm::kGo;
  do n = send(sock.get(), &go, 1, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n != 1) {
    sigprocmask(SIG_SETMASK, &previous, nullptr);
    return (void)Cold("send go", n < 0 ? errno : EIO);
  }
  if (debugOn) dprintf(2, "tsoci: warm: worker %d took the command after %ld us\n", static_cast<int>(answer.pid), NowUs() - start);
  ServeWorker(sock.release(), worker.release(), answer.pid, record, &relayed);
}

}  // namespace tsoci
