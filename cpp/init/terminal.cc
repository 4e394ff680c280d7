#include "terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "errors.h"
#include "scm.h"

namespace tsoci {

namespace {

constexpr long DEVPTS_MAGIC = 0x1cd1;
constexpr unsigned PTMX_MAJOR = 5, PTMX_MINOR = 2, PTMX_INO = 2;  // fs/devpts/inode.c
constexpr unsigned PTY_SLAVE_MAJOR = 136;                        // UNIX98_PTY_SLAVE_MAJOR

#ifndef OPEN_TREE_CLONE
constexpr unsigned OPEN_TREE_CLONE = 1;
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
constexpr unsigned MOVE_MOUNT_F_EMPTY_PATH = 0x04;
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
constexpr unsigned MOVE_MOUNT_T_EMPTY_PATH = 0x40;
#endif

const char* const PTMX = "/dev/pts/ptmx";

std::string fd_link(int fd) { return "self/fd/" + std::to_string(fd); }

// /dev/pts/ptmx of the container's devpts, verified before it is opened for real (a
// container could have put anything there by the time `exec` runs).
Fd open_ptmx(int procfd) {
  Fd h(open(PTMX, O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!h) fail("terminal", PTMX, errno, std::string("open ") + PTMX + " (is devpts mounted on /dev/pts?)");
  struct stat st;
  struct statfs sfs;
  if (fstat(h.get(), &st) < 0) fail("terminal", PTMX, errno, std::string("stat ") + PTMX);
  if (fstatfs(h.get(), &sfs) < 0) fail("terminal", PTMX, errno, std::string("statfs ") + PTMX);
  if (sfs.f_type != DEVPTS_MAGIC)
    fail_msg("terminal", PTMX, EINVAL, std::string(PTMX) + " is not on a devpts mount");
  if (!S_ISCHR(st.st_mode) || st.st_ino != PTMX_INO || major(st.st_rdev) != PTMX_MAJOR ||
      minor(st.st_rdev) != PTMX_MINOR)
    fail_msg("terminal", PTMX, EINVAL, std::string(PTMX) + " is not the devpts ptmx device");
  Fd m(openat(procfd, fd_link(h.get()).c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!m) fail("terminal", PTMX, errno, std::string("open ") + PTMX + " read-write");
  return m;
}

// The slave of `master`: TIOCGPTPEER (Linux 4.13+), else /dev/pts/<n> checked by device number.
Fd open_peer(int master) {
  int p = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (p >= 0) return Fd(p);
  if (errno != EINVAL && errno != ENOTTY) fail("terminal", PTMX, errno, "open the pty peer (TIOCGPTPEER)");
  unsigned n = 0;
  if (ioctl(master, TIOCGPTN, &n) < 0) fail("terminal", PTMX, errno, "get the pty number (TIOCGPTN)");
  std::string path = "/dev/pts/" + std::to_string(n);
  Fd peer(open(path.c_str(), O_RDWR | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC));
  if (!peer) fail("terminal", path, errno, "open " + path);
  struct stat st;
  if (fstat(peer.get(), &st) < 0) fail("terminal", path, errno, "stat " + path);
  if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(PTY_SLAVE_MAJOR, n))
    fail_msg("terminal", path, EINVAL, path + " is not the peer of the allocated pty");
  return peer;
}

// A bind of the slave over /dev/console, through the new mount API (no /proc needed),
// falling back to the container's /proc/self/fd on kernels without it.
void mount_console(int peer) {
  const char* dst = "/dev/console";
  Fd target(open(dst, O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!target && errno == ENOENT) {
    Fd created(open(dst, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0666));
    if (!created) fail("terminal", dst, errno, std::string("create ") + dst);
    target = Fd(open(dst, O_PATH | O_NOFOLLOW | O_CLOEXEC));
  }
  if (!target) fail("terminal", dst, errno, std::string("open ") + dst);
  Fd tree(static_cast<int>(syscall(SYS_open_tree, peer, "", OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH)));
  if (tree) {
    if (syscall(SYS_move_mount, tree.get(), "", target.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
      fail("terminal", dst, errno, std::string("bind the pty over ") + dst);
    return;
  }
  if (errno != ENOSYS) fail("terminal", dst, errno, "clone the pty mount (open_tree)");
  std::string src = "/proc/self/fd/" + std::to_string(peer), to = "/proc/self/fd/" + std::to_string(target.get());
  if (mount(src.c_str(), to.c_str(), nullptr, MS_BIND, nullptr) < 0)
    fail("terminal", dst, errno, std::string("bind the pty over ") + dst);
}

void send_fd(int sock, int fd, const std::string& socketPath) {
  static const char name[] = "/dev/ptmx";
  ssize_t n = send_with_fd(sock, name, sizeof name - 1, fd);
  if (n < 0) fail("console", socketPath, errno, "send the pty master to console socket " + socketPath);
}

}  // namespace

Fd connect_console_socket(const std::string& path) {
  Fd s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) fail("console", path, errno, "socket");
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    fail_msg("console", path, ENAMETOOLONG, "connect console socket " + path + ": path too long");
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int rc;
  do {
    rc = connect(s.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) fail("console", path, errno, "connect console socket " + path);
  return s;
}

void setup_terminal(const Plan& plan, Fd& console, int procfd, bool mountConsole) {
  if (!console)
    fail_msg("terminal", "", EINVAL, "process.terminal is set but no console socket was given");
  Fd master = open_ptmx(procfd);
  int unlock = 0;
  if (ioctl(master.get(), TIOCSPTLCK, &unlock) < 0) fail("terminal", PTMX, errno, "unlockpt");
  Fd peer = open_peer(master.get());
  const ProcessExtras& x = plan.extras;
  if (x.consoleHeight && x.consoleWidth) {
    struct winsize ws = {};
    ws.ws_row = static_cast<unsigned short>(x.consoleHeight);
    ws.ws_col = static_cast<unsigned short>(x.consoleWidth);
    if (ioctl(master.get(), TIOCSWINSZ, &ws) < 0) fail("terminal", PTMX, errno, "set the console size (TIOCSWINSZ)");
  }
  if (plan.consoleClearOnlcr) {
    struct termios t;
    if (tcgetattr(master.get(), &t) < 0) fail("terminal", PTMX, errno, "tcgetattr");
    t.c_oflag &= ~static_cast<tcflag_t>(ONLCR);
    if (tcsetattr(master.get(), TCSANOW, &t) < 0) fail("terminal", PTMX, errno, "clear ONLCR (tcsetattr)");
  }
  if (mountConsole) mount_console(peer.get());
  send_fd(console.get(), master.get(), plan.consoleSocket);
  console.reset();
  master.reset();

  // Like runc: only the owner, so the devpts gid= option stays in effect; a slave whose
  // owner is not mapped (EPERM) or a read-only devpts is left as it is.
  struct stat st;
  if (fstat(peer.get(), &st) == 0 && st.st_uid != plan.process.uid &&
      fchown(peer.get(), plan.process.uid, static_cast<gid_t>(-1)) < 0 && errno != EPERM && errno != EROFS)
    fail("terminal", "", errno, "chown the console to uid " + std::to_string(plan.process.uid));

  for (int i = 0; i < 3; i++)
    if (peer.get() != i && dup3(peer.get(), i, 0) < 0)
      fail("terminal", "", errno, "dup the console onto fd " + std::to_string(i));
  if (peer.get() <= 2) peer.release();  // it is one of the stdio fds now: keep it open
  peer.reset();
  if (setsid() < 0) fail("terminal", "", errno, "setsid");
  if (ioctl(0, TIOCSCTTY, 0) < 0) fail("terminal", "", errno, "ioctl(setctty)");
}

}  // namespace tsoci
