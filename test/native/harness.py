"""Drives build/Release/tsoci-init directly with a hand-written LaunchPlan.

Development aid for cpp/init (not the jest e2e suite). Needs root.
"""
import ctypes, fcntl, json, os, shutil, socket, subprocess, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INIT = os.path.join(ROOT, "build", "Release", "tsoci-init")

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_BIND, MS_REC, MS_PRIVATE, MS_SLAVE = 4096, 16384, 1 << 18, 1 << 19
MS_STRICTATIME = 1 << 24

libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: detached containers re-parent to us

APPLETS = "sh ls cat echo true false id hostname mount readlink stat sleep ps env touch mkdir grep pwd wc".split()


def make_rootfs():
    tmp = tempfile.mkdtemp(prefix="tsoci-native-")
    os.chmod(tmp, 0o755)  # the user-namespace root (host uid 100000) must reach the rootfs
    r = os.path.join(tmp, "rootfs")
    os.makedirs(os.path.join(r, "bin"))
    shutil.copy("/bin/busybox", os.path.join(r, "bin", "busybox"))
    for a in APPLETS:
        os.symlink("busybox", os.path.join(r, "bin", a))
    for d in ("proc", "dev", "sys", "tmp"):
        os.makedirs(os.path.join(r, d))
    return tmp, r


def default_mounts():
    return [
        mnt("proc", "/proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV),
        mnt("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k"),
        mnt("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"),
        mnt("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=1777,size=65536k"),
        mnt("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NOEXEC | MS_NODEV),
        mnt("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY),
    ]


def mnt(source, dest, type_, flags=0, data="", remount=0, prop=None, create="dir"):
    return {"source": source, "destination": dest, "type": type_, "flags": flags, "data": data,
            "remountFlags": remount, "propagationFlags": prop or [], "createAs": create}


def default_devices(bind=False):
    devs = []
    for name, maj, mi in (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8),
                          ("urandom", 1, 9), ("tty", 5, 0)):
        d = {"path": "/dev/" + name, "type": "c", "major": maj, "minor": mi, "fileMode": 0o666,
             "uid": 0, "gid": 0}
        if bind:
            d["bindFrom"] = "/dev/" + name
        devs.append(d)
    return devs


def base_plan(rootfs, args, **over):
    plan = {
        "version": 1, "mode": "create", "wait": "detach",
        "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "cgroup")],
        "uidMappings": [], "gidMappings": [], "setgroupsDeny": False, "timeOffsets": [],
        "hostname": "tsoci-test", "rootfs": rootfs, "rootfsReadonly": False,
        "rootfsPropagation": MS_SLAVE | MS_REC, "noPivot": False,
        "mounts": default_mounts(), "devices": default_devices(),
        "symlinks": [{"target": "/proc/self/fd", "path": "/dev/fd"},
                     {"target": "pts/ptmx", "path": "/dev/ptmx"}],
        "maskedPaths": ["/proc/kcore", "/sys/firmware", "/proc/does-not-exist"],
        "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"],
        "sysctl": {},
        "process": {"args": args, "env": ["PATH=/bin", "HOME=/"], "cwd": "/", "uid": 0, "gid": 0,
                    "additionalGids": [], "umask": 0o022, "terminal": False,
                    "noNewPrivileges": False, "rlimits": []},
        "preserveFds": 0, "pauseForHooks": False,
    }
    plan.update(over)
    return plan


class Result:
    def __init__(self):
        self.messages, self.output, self.status, self.pid = [], "", None, None

    def error(self):
        return next((m for m in self.messages if m["type"] == "error"), None)


def release(fifo, timeout=10):
    """Open the read side (unblocks the init) and wait for its byte, with a timeout."""
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        end = time.time() + timeout
        while time.time() < end:
            try:
                if os.read(fd, 1) == b"0":
                    return True
            except BlockingIOError:
                pass
            time.sleep(0.005)
        return False
    finally:
        os.close(fd)


def run(plan, fifo_dir=None, extra_fd=None, on_ready=None, background=False):
    """Launch, release the fifo, collect messages + output, reap everything.
    status: stage0's exit status for foreground, else the container's."""
    res = Result()
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    if plan["mode"] == "create" and fifo_dir:
        plan["execFifo"] = os.path.join(fifo_dir, "exec.fifo")
        if not os.path.exists(plan["execFifo"]):
            os.mkfifo(plan["execFifo"])
            os.chmod(plan["execFifo"], 0o622)  # as runc: any container uid may write

    def pre():
        if extra_fd is not None:
            os.dup2(extra_fd, 3)  # becomes preserved fd 3 (inheritable after dup2)

    sync_fd = fcntl.fcntl(child.fileno(), fcntl.F_DUPFD_CLOEXEC, 50)  # clear of fd 3
    child.close()
    env = {"TSOCI_SYNC_FD": str(sync_fd), "PATH": os.environ["PATH"]}
    out = subprocess.DEVNULL if background else subprocess.PIPE
    proc = subprocess.Popen([INIT], stdin=subprocess.DEVNULL, stdout=out,
                            stderr=subprocess.STDOUT, pass_fds=[sync_fd, 3] if extra_fd else [sync_fd],
                            env=env, preexec_fn=pre)
    os.close(sync_fd)
    parent.sendall((json.dumps(plan) + "\n").encode())
    f = parent.makefile("rb")
    for line in f:
        m = json.loads(line)
        res.messages.append(m)
        if m["type"] == "pid":
            res.pid = m["pid"]
        elif m["type"] == "hooks":
            parent.sendall(b'{"type":"continue"}\n')
        elif m["type"] in ("ready", "error"):
            break
    ready = any(m["type"] == "ready" for m in res.messages)
    if ready and on_ready:
        on_ready(res)
    if ready and plan.get("execFifo"):
        release(plan["execFifo"])
    if background:  # the container keeps running; the caller kills and reaps res.pid
        proc.wait()
        f.close()
        parent.close()
        return res
    res.output = proc.stdout.read().decode(errors="replace")
    s0 = proc.wait()
    if plan["wait"] == "foreground":
        res.status = s0
    elif res.pid:
        try:
            _, st = os.waitpid(res.pid, 0)
            res.status = os.waitstatus_to_exitcode(st)
        except ChildProcessError:
            pass
    f.close()
    parent.close()
    return res
