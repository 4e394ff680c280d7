// tsoci-init: the stages of a container launch (see src/plan/launch-plan.ts).
//
//   stage0  host namespaces: reads the plan, opens host-side fds, writes id maps,
//           waits for stage1 (detach) or for the container process (foreground)
//   stage1  joins/creates namespaces, then clones stage2 with CLONE_PARENT and
//           reports its host pid
//   stage2  rootfs, credentials, "ready", exec fifo, execve
//
// Who writes to the sync socket, in order (never two at once): stage0 (id-map
// errors, while stage1 is blocked on the ack), stage1 (its errors, then "pid"),
// stage2 (only after stage1 released it through the go pipe, i.e. after "pid").
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>

#include "read_full.h"
#include "cloned_binary.h"
#include "env.h"
#include "debug_log.h"
#include "errors.h"
#include "fault.h"
#include "fd.h"
#include "host_mounts.h"
#include "idmap.h"
#include "lsm.h"
#include "mount_sources.h"
#include "namespaces.h"
#include "plan.h"
#include "process.h"
#include "rootfs.h"
#include "stage0_signals.h"
#include "sched.h"
#include "seccomp.h"
#include "sync.h"
#include "terminal.h"

using namespace tsoci;

namespace {

struct Context {
  const Plan& plan;
  Sync& sync;
  Fd procfd;   // host /proc, O_PATH: reopens the fifo, id maps, time offsets
  Fd fifo;     // exec fifo, O_PATH (create mode)
  Fd console;  // connected console socket (terminal.cc; stage2 sends the pty master)
  Fd mountRecord;  // no mount namespace: the host mount record (host_mounts.cc)
};

bool write_all(int fd, const void* buf, size_t len) {
  const char* p = static_cast<const char*>(buf);
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// Keeps our own fds out of the range the container gets (0 .. 3+preserveFds-1).
Fd above_preserved(Fd fd, const Plan& plan, const std::string& what) {
  int min = 3 + plan.preserveFds;
  if (!fd || fd.get() >= min) return fd;
  int n = fcntl(fd.get(), F_DUPFD_CLOEXEC, min);
  if (n < 0) fail("init", "", errno, "move fd of " + what);
  return Fd(n);
}

// A forked stage never returns into its parent's code.
[[noreturn]] void run_stage(Sync& sync, const std::function<void()>& fn) {
  int code = 1;
  try {
    fn();
    code = 0;
  } catch (const Failure& f) {
    sync.send_error(f);
  } catch (const QuietExit& q) {
    code = q.code;
  } catch (const std::exception& e) {
    sync.send_error({"internal", "", 0, e.what()});
  } catch (...) {
    sync.send_error({"internal", "", 0, "unknown exception"});
  }
  _exit(code);
}

void exit_on_signal(int sig) { _exit(128 + sig); }

// Until exec_process resets every disposition.
void stop_on_termination_signals() {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = exit_on_signal;
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) sigaction(sig, &sa, nullptr);
}

[[noreturn]] void stage2(Context& ctx) {
  const Plan& plan = ctx.plan;
  // A session of its own, like runc's stage-2 (nsexec.c): without it the container's init
  // belongs to a session led from outside its PID namespace, which CRIU refuses to dump.
  // (With a terminal, setup_terminal makes the session, then takes the pty as its tty.)
  if (!plan.process.terminal && setsid() < 0) fail("init", "", errno, "setsid");
  // the pty comes from the container's own devpts: after pivot_root, or after setns
  auto terminal = [&] {
    if (plan.process.terminal) setup_terminal(plan, ctx.console, ctx.procfd.get(), !plan.execMode);
  };
  if (!plan.execMode) prepare_rootfs(plan, ctx.sync, terminal);
  else terminal();
  // HOME from the container's /etc/passwd, read in its root while still root (runc #4688)
  const std::vector<std::string> env = env_with_home(plan.process.env, plan.process.uid);
  apply_scheduling(plan);                       // personality, sched_setattr, ioprio (still root)
  apply_lsm_labels(plan, ctx.procfd.get());     // AppArmor/SELinux exec attrs, before the uid switch
  mark_fds_cloexec(plan, ctx.procfd.get());     // before any seccomp filter: see exec_process
  std::string path = setup_process(plan, ctx.procfd.get());
  TSOCI_FAULT_POINT("process");
  if (path.empty()) path = find_executable(plan.process);
  apply_final_affinity(plan);  // before seccomp and "ready" (an error is still reported)
  apply_memory_policy(plan.memoryPolicy);  // kept across execve
  // like runc: with no_new_privs the filter goes in as late as errors can still be reported
  if (plan.process.noNewPrivileges) seccomp_load(plan, ctx.procfd.get());
  TSOCI_FAULT_POINT("ready");
  if (!ctx.sync.send_type("ready")) throw QuietExit{1};
  ctx.sync.close();
  if (!plan.execMode && ctx.fifo) {
    // a created container ends on SIGTERM & co., as runc's (Go) init does: as the PID
    // namespace's init we would not get a signal we have no handler for
    stop_on_termination_signals();
    // blocks until `tsoci start` opens the read side; a deleted container: exit quietly
    std::string rel = "self/fd/" + std::to_string(ctx.fifo.get());
    Fd w(openat(ctx.procfd.get(), rel.c_str(), O_WRONLY | O_CLOEXEC));
    if (!w) _exit(1);
    run_start_container_hooks(plan.containerHooks, env, w.get());  // a failure: "E<message>" on the fifo, exit
    if (write(w.get(), "0", 1) != 1) _exit(1);
  }
  exec_process(plan, path, env);
}

void stage1(Context& ctx, Fd chan) {
  const Plan& plan = ctx.plan;
  if (plan.execMode)
    for (auto& n : plan.namespaces)
      if (n.path.empty())
        fail_msg("namespace", "", EINVAL, "exec: namespace \"" + n.type + "\" has no path to join");

  seccomp_connect_listener(plan);  // still in the host's namespaces (exec joins the mount ns next)
  bool inUserNs = join_namespaces(plan);
  if (plan.creates("user")) {
    // stage0 (or newuidmap) writes our maps, and we write timens_offsets as the
    // namespace's root: a non-dumpable task's /proc files belong to the host root.
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    if (unshare(CLONE_NEWUSER) < 0) fail("namespace", "", errno, "unshare user namespace");
    TSOCI_FAULT_POINT("unshare:user");
    char req = 'U', ack = 1;
    if (!write_all(chan.get(), &req, 1) || !read_full(chan.get(), &ack, 1) || ack != 0)
      throw QuietExit{1};  // stage0 reported the failure
    inUserNs = true;
  }
  if (inUserNs) {
    // become the namespace's root so what we create is owned by the mapped root
    if (setresgid(0, 0, 0) < 0) fail("user", "", errno, "setresgid 0 in the user namespace");
    if (setresuid(0, 0, 0) < 0) fail("user", "", errno, "setresuid 0 in the user namespace");
  }
  int flags = new_namespace_flags(plan);
  if (flags && unshare(flags) < 0) fail("namespace", "", errno, "unshare namespaces");
  if (flags) TSOCI_FAULT_POINT("unshare");
  if (wants_mount_sources(plan)) {
    char req = 'M';
    if (!write_all(chan.get(), &req, 1)) throw QuietExit{1};
    receive_mount_sources(plan, chan.get());
  }
  // (setresuid above reset dumpable to the suid_dumpable default)
  if (inUserNs && plan.creates("time") && !plan.timeOffsets.empty()) prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  write_time_offsets(plan, ctx.procfd.get());
  TSOCI_FAULT_POINT("namespaces");
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);  // nothing of the container may inspect us

  int gofds[2];
  if (pipe2(gofds, O_CLOEXEC) < 0) fail("clone", "", errno, "pipe");
  Fd goRead(gofds[0]), goWrite(gofds[1]);
  // CLONE_PARENT: stage2 is stage0's child (so stage0 can wait for it); after
  // unshare(CLONE_NEWPID) it is PID 1 of the new namespace.
  pid_t pid = static_cast<pid_t>(syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0));
  if (pid < 0) fail("clone", "", errno, "clone container process");
  if (pid == 0) {
    chan.reset();
    goWrite.reset();
    char go;
    if (!read_full(goRead.get(), &go, 1)) _exit(1);  // stage1 failed: it reported
    goRead.reset();
    run_stage(ctx.sync, [&] { stage2(ctx); });
  }
  goRead.reset();
  if (!ctx.sync.send_pid(pid)) throw QuietExit{1};
  char msg[1 + sizeof(pid_t)];
  msg[0] = 'P';
  memcpy(msg + 1, &pid, sizeof pid);
  write_all(chan.get(), msg, sizeof msg);
  char go = 'G';
  if (!write_all(goWrite.get(), &go, 1)) throw QuietExit{1};
}

int exit_status(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 1;
}

int stage0(const Plan& plan, Sync& sync) {
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  apply_initial_affinity(plan);  // exec: every stage of the init runs on execCPUAffinity.initial
  debug_log_cpu_affinity(plan);  // runc's nsexec says it (cpu_affinity.bats reads it)
  Context ctx{plan, sync, {}, {}, {}, {}};
  ctx.procfd = Fd(open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!ctx.procfd) fail("init", "/proc", errno, "open /proc");
  ctx.procfd = above_preserved(std::move(ctx.procfd), plan, "/proc");
  if (!plan.execMode && !plan.execFifo.empty()) {
    ctx.fifo = Fd(open(plan.execFifo.c_str(), O_PATH | O_CLOEXEC));
    if (!ctx.fifo) fail("init", plan.execFifo, errno, "open exec fifo " + plan.execFifo);
    ctx.fifo = above_preserved(std::move(ctx.fifo), plan, "exec fifo");
  }
  if (!plan.consoleSocket.empty())
    ctx.console = above_preserved(connect_console_socket(plan.consoleSocket), plan, "console socket");
  if (plan.foreground && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
    fail("init", "", errno, "prctl PR_SET_CHILD_SUBREAPER");

  if (!plan.execMode) prepare_idmapped_mounts(plan, ctx.procfd.get());  // needs the host's privileges
  if (!plan.execMode && !plan.has_namespace("mount")) {
    // mounts in the host's mount table: each one is recorded for delete (host_mounts.h)
    ctx.mountRecord = above_preserved(open_host_mount_record(plan, ctx.procfd.get()), plan, "host mount record");
    use_host_mount_record(ctx.mountRecord.get());
    TSOCI_FAULT_POINT("host-mounts");
  }
  int sp[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) fail("init", "", errno, "socketpair");
  Fd chan(sp[0]), childChan(sp[1]);
  pid_t s1 = fork();
  if (s1 < 0) fail("init", "", errno, "fork");
  if (s1 == 0) {
    chan.reset();
    run_stage(sync, [&] { stage1(ctx, std::move(childChan)); });
  }
  childChan.reset();
  if (plan.foreground) stage0_ignore_group_signals();  // survive the caller's Ctrl-C / hangup
  ctx.console.reset();  // only stage2 uses it: the receiver sees EOF once the master is sent

  pid_t s2 = -1;
  for (;;) {
    char req;
    if (!read_full(chan.get(), &req, 1)) break;  // stage1 is gone
    if (req == 'U') {
      char ack = 0;
      try {
        write_id_maps(plan, s1, ctx.procfd.get());
        TSOCI_FAULT_POINT("idmap");
      } catch (const Failure& f) {
        sync.send_error(f);  // stage1 is blocked on the ack: nobody else writes
        ack = 1;
      }
      if (!write_all(chan.get(), &ack, 1)) break;
    } else if (req == 'M') {
      send_mount_sources(plan, s1, ctx.procfd.get(), chan.get());
    } else if (req == 'P') {
      if (read_full(chan.get(), &s2, sizeof s2)) break;
      s2 = -1;
      break;
    }
  }
  chan.reset();

  int st = 0;
  while (waitpid(s1, &st, 0) < 0)
    if (errno != EINTR) return 1;
  if (!WIFEXITED(st)) {
    sync.send_error({"init", "", 0, "stage1 was killed by signal " + std::to_string(WTERMSIG(st))});
    return 1;
  }
  if (WEXITSTATUS(st) != 0) return 1;  // it reported (or the runtime is gone)
  sync.close();  // from now on only the container process talks to the runtime
  if (!plan.foreground) return 0;
  if (s2 <= 0) return 1;

  // As subreaper we also collect orphans re-parented to us until the container exits.
  for (;;) {
    pid_t p = waitpid(-1, &st, 0);
    if (p < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (p == s2) return exit_status(st);
  }
}

}  // namespace

int main(int, char** argv, char** envp) {
  ensure_cloned_binary(argv, envp);  // CVE-2019-5736: never run from the host file
  fault_init();
  reset_signals();  // Node's ignored SIGPIPE/SIGCHLD handling must not leak into us
  const char* env = getenv("TSOCI_SYNC_FD");
  char* end = nullptr;
  long fd = env ? strtol(env, &end, 10) : -1;
  if (!env || *end != '\0' || fd < 0 || fcntl(static_cast<int>(fd), F_GETFD) < 0) {
    fprintf(stderr, "tsoci-init: TSOCI_SYNC_FD does not name an open fd\n");
    return 1;
  }
  fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
  Sync sync(static_cast<int>(fd));
  try {
    std::string line;
    if (!sync.read_line(line)) return 1;
    Plan plan = parse_plan(line);
    if (fd < 3 + plan.preserveFds)
      fail_msg("plan", "", EINVAL, "the sync fd lies inside the preserved fd range");
    return stage0(plan, sync);
  } catch (const Failure& f) {
    sync.send_error(f);
  } catch (const QuietExit& q) {
    return q.code;
  } catch (const std::exception& e) {
    sync.send_error({"internal", "", 0, e.what()});
  } catch (...) {
    sync.send_error({"internal", "", 0, "unknown exception"});
  }
  return 1;
}
