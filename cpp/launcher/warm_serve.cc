#include "warm_serve.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd.h"
#include "read_full.h"
#include "scm.h"
#include "warm_protocol.h"

namespace tsoci {
namespace {

using warm::Reply;

constexpr int kMaxWaits = 16;
// After the worker's EXIT: how long to let it finish exiting (its fds, a state dir's lock, are
// released only then) before exiting anyway.
constexpr int kExitGraceMs = 5000;

bool IsFatal(int sig) {
  switch (sig) {
    case SIGCONT: case SIGTSTP: case SIGTTIN: case SIGTTOU: case SIGURG: case SIGWINCH: case SIGCHLD:
      return false;
    default:
      return true;
  }
}

// Whether the caller passed `fd` (above 2): the record's ranges "3,5-7" after "<pid>:".
bool RecordHas(const char* record, int fd) {
  const char* p = strchr(record, ':');
  while (p && *++p) {
    char* end;
    long a = strtol(p, &end, 10), b = a;
    if (*end == '-') b = strtol(end + 1, &end, 10);
    if (fd >= a && fd <= b) return true;
    p = *end == ',' ? end : nullptr;
  }
  return false;
}

bool SendReply(int fd, int err, int value, int step) {
  Reply r = {err, value, err ? step : warm::kStepNone};
  return send(fd, &r, sizeof r, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof r);
}

// tsoci-init as the addon spawns it (cpp/addon/spawn_init.cc): fds 0-2 and the caller's
// preserved fds 3..3+n-1, the sync socket at 3+n, default dispositions and an empty mask.
void Spawn(int conn, const warm::Op& op, char* payload, int syncEnd, const char* record) {
  Fd received(syncEnd);
  const int target = 3 + op.arg;
  if (op.arg < 0 || !received) return (void)SendReply(conn, EINVAL, 0, warm::kStepMessage);
  // path, argv0, then the environment, each NUL-terminated
  char* strings[2] = {nullptr, nullptr};
  size_t count = 0;
  for (uint32_t i = 0; i < op.length; i++)
    if (payload[i] == '\0') count++;
  char** envp = static_cast<char**>(calloc(count + 1, sizeof(char*)));
  if (!envp || count < 2) {
    free(envp);
    return (void)SendReply(conn, envp ? EINVAL : ENOMEM, 0, warm::kStepMessage);
  }
  size_t k = 0, e = 0;
  for (char* p = payload; p < payload + op.length; p += strlen(p) + 1, k++) {
    if (k < 2) strings[k] = p;
    else envp[e++] = p;
  }
  Fd high(fcntl(received.get(), F_DUPFD_CLOEXEC, target + 1));
  if (!high) {
    free(envp);
    return (void)SendReply(conn, errno, 0, warm::kStepDupSync);
  }
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_init(&actions);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  int rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr, &all);
  if (rc == 0) rc = posix_spawnattr_setsigmask(&attr, &none);
  // dup2 onto itself clears close-on-exec; only the caller's fds, never one of ours
  for (int fd = 0; rc == 0 && fd < target; fd++)
    if ((fd <= 2 || RecordHas(record, fd)) && fcntl(fd, F_GETFD) >= 0) rc = posix_spawn_file_actions_adddup2(&actions, fd, fd);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, high.get(), target);
  pid_t pid = -1;
  int step = warm::kStepSpawnSetup;
  if (rc == 0) {
    char* argv[] = {strings[1], nullptr};
    step = warm::kStepSpawn;
    rc = posix_spawn(&pid, strings[0], &actions, &attr, argv, envp);
  }
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  free(envp);
  SendReply(conn, rc, rc == 0 ? pid : 0, step);
}

// A pending wait: the child's pidfd, and where its status goes (the connection, or an fd the
// worker sent for an asynchronous wait).
struct Wait {
  pid_t pid;
  Fd pidfd;
  Fd ownReply;
  int reply;
};

struct Waits {
  Wait items[kMaxWaits];
  int count = 0;

  void Add(int conn, pid_t pid, int replyFd) {
    Fd reply(replyFd);
    int to = reply ? reply.get() : conn;
    int status = 0;
    Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd) return (void)SendReply(to, errno, 0, warm::kStepPidfd);
    pid_t got = waitpid(pid, &status, WNOHANG | __WALL);  // only a child of ours: never -1
    if (got != 0) return (void)SendReply(to, got < 0 ? errno : 0, status, warm::kStepWaitpid);
    if (count == kMaxWaits) return (void)SendReply(to, EAGAIN, 0, warm::kStepTooMany);
    Wait& w = items[count++];
    w.pid = pid;
    w.pidfd = static_cast<Fd&&>(pidfd);
    w.ownReply = static_cast<Fd&&>(reply);
    w.reply = to;
  }

  // The child i has exited: reap it, send its status, forget it.
  void Finish(int i) {
    Wait& w = items[i];
    int status = 0;
    pid_t got;
    do got = waitpid(w.pid, &status, __WALL);
    while (got < 0 && errno == EINTR);
    SendReply(w.reply, got < 0 ? errno : 0, status, warm::kStepWaitpid);
    w.pidfd.reset();
    w.ownReply.reset();
    if (i != count - 1) {
      Wait& last = items[count - 1];
      w.pid = last.pid;
      w.pidfd = static_cast<Fd&&>(last.pidfd);
      w.ownReply = static_cast<Fd&&>(last.ownReply);
      w.reply = last.reply;
    }
    count--;
  }
};

// Kills and reaps this process's tsoci-init children (a failed launch's leftovers). Another
// child (a container's init re-parented here) stays for the caller to reap.
void ReapOrphans() {
  Fd dir(open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return;
  const pid_t self = getpid();
  alignas(8) char buf[8192];
  for (;;) {
    long n = syscall(SYS_getdents64, dir.get(), buf, sizeof buf);
    if (n <= 0) return;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<struct dirent64*>(buf + off);
      off += d->d_reclen;
      if (d->d_name[0] < '0' || d->d_name[0] > '9') continue;
      char path[300], stat[512];
      snprintf(path, sizeof path, "/proc/%s/stat", d->d_name);
      Fd f(open(path, O_RDONLY | O_CLOEXEC));
      ssize_t len = f ? read(f.get(), stat, sizeof stat - 1) : -1;
      if (len <= 0) continue;
      stat[len] = '\0';
      // "pid (comm) S ppid …": comm may hold spaces and parentheses
      char* open = strchr(stat, '(');
      char* close = strrchr(stat, ')');
      if (!open || !close || close[1] == '\0') continue;
      *close = '\0';
      long ppid = strtol(close + 4, nullptr, 10);
      if (ppid != self || strcmp(open + 1, "tsoci-init") != 0) continue;
      pid_t pid = static_cast<pid_t>(atoi(d->d_name));
      kill(pid, SIGKILL);
      while (waitpid(pid, nullptr, __WALL) < 0 && errno == EINTR) {
      }
    }
  }
}

[[noreturn]] void Die(const char* step, int err) {
  dprintf(2, "tsoci: warm launcher: %s: %s\n", step, strerror(err));
  _exit(1);
}

}  // namespace

void RelayedSignals(sigset_t* set) {
  sigfillset(set);
  static const int own[] = {SIGKILL, SIGSTOP, SIGCHLD, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS};
  for (int sig : own) sigdelset(set, sig);
}

void ServeWorker(int connFd, int workerPidfd, pid_t worker, const char* record, const sigset_t* relayed) {
  Fd conn(connFd);
  int flags = fcntl(conn.get(), F_GETFL);
  if (flags < 0 || fcntl(conn.get(), F_SETFL, flags & ~O_NONBLOCK) < 0) Die("make the connection blocking", errno);
  signal(SIGCHLD, SIG_DFL);  // an inherited SIG_IGN would reap our children before we wait
  Fd sigfd(signalfd(-1, relayed, SFD_CLOEXEC));
  if (!sigfd) Die("signalfd", errno);
  Fd workerFd(workerPidfd);
  int lastFatal = 0;
  bool workerGone = false;
  Waits waits;
  char* payload = static_cast<char*>(malloc(warm::kMaxOpPayload));
  if (!payload) Die("allocate", ENOMEM);
  for (;;) {
    struct pollfd p[3 + kMaxWaits];
    p[0] = {conn.get(), POLLIN, 0};
    p[1] = {sigfd.get(), POLLIN, 0};
    p[2] = {workerGone ? -1 : workerFd.get(), POLLIN, 0};
    for (int i = 0; i < waits.count; i++) p[3 + i] = {waits.items[i].pidfd.get(), POLLIN, 0};
    int ready = poll(p, 3 + waits.count, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      Die("poll", errno);
    }
    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sigfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        int sig = static_cast<int>(si.ssi_signo);
        if (syscall(SYS_pidfd_send_signal, workerFd.get(), sig, nullptr, 0) == 0 && IsFatal(sig)) lastFatal = sig;
        struct pollfd more = {sigfd.get(), POLLIN, 0};
        if (poll(&more, 1, 0) <= 0) break;
      }
    }
    // the worker's fds are closed before its pidfd turns readable: EOF on conn follows
    if (p[2].revents) workerGone = true;
    for (int i = waits.count - 1; i >= 0; i--)
      if (p[3 + i].revents) waits.Finish(i);
    if (!p[0].revents) continue;

    warm::Op op;
    int fd = -1;
    ssize_t n = recv_with_fd(conn.get(), &op, sizeof op, &fd);
    Fd attached(fd);
    if (n > 0 && n < static_cast<ssize_t>(sizeof op) && !read_full(conn.get(), reinterpret_cast<char*>(&op) + n, sizeof op - n)) n = 0;
    if (n <= 0) {
      // gone without EXIT: as a cold tsoci killed by the signal it got, else one line
      if (lastFatal) {
        signal(lastFatal, SIG_DFL);
        sigset_t only;
        sigemptyset(&only);
        sigaddset(&only, lastFatal);
        raise(lastFatal);
        sigprocmask(SIG_UNBLOCK, &only, nullptr);
        _exit(128 + lastFatal);
      }
      dprintf(2, "warm worker %d ended during the command\n", static_cast<int>(worker));
      _exit(1);
    }
    if (op.length > warm::kMaxOpPayload || !read_full(conn.get(), payload, op.length)) Die("read the worker's request", EPROTO);
    switch (op.code) {
      case warm::kSpawnInit:
        Spawn(conn.get(), op, payload, attached.release(), record);
        break;
      case warm::kSubreaper:
        SendReply(conn.get(), prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0 ? errno : 0, 0, warm::kStepPrctl);
        break;
      case warm::kWait:
        waits.Add(conn.get(), op.arg, attached.release());
        break;
      case warm::kReap: {
        pid_t got;
        do got = waitpid(op.arg, nullptr, __WALL);
        while (got < 0 && errno == EINTR);
        SendReply(conn.get(), got < 0 ? errno : 0, 0, warm::kStepWaitpid);
        break;
      }
      case warm::kReapOrphans:
        ReapOrphans();
        SendReply(conn.get(), 0, 0, warm::kStepNone);
        break;
      case warm::kExit: {
        struct pollfd w = {workerFd.get(), POLLIN, 0};
        if (!workerGone) poll(&w, 1, kExitGraceMs);
        _exit(op.arg & 0xff);
      }
      default:
        Die("the worker's request", EPROTO);
    }
  }
}

}  // namespace tsoci
