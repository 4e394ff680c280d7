#!/usr/bin/env python3
"""Real-root checks of tsoci-init. Usage: sudo python3 test/native/test_init.py [name...]"""
import json, os, shutil, signal, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa

TMP, R = make_rootfs()
FAILED = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name)
    if not cond:
        FAILED.append(name)
        print("     " + str(detail).replace("\n", "\n     "))


def host_ns(kind):
    return os.readlink("/proc/self/ns/" + kind)


def t_all_namespaces():
    ns = [{"type": t} for t in ("user", "pid", "network", "ipc", "uts", "mount", "cgroup", "time")]
    plan = base_plan(R, ["sh", "-c", "echo pid=$$; hostname; cat /proc/self/uid_map; "
                          "for n in /proc/self/ns/*; do echo $(basename $n)=$(readlink $n); done; "
                          "id; cat /proc/uptime; ls -l /dev/null; cat /proc/self/mountinfo"],
                     namespaces=ns, devices=default_devices(bind=True),
                     uidMappings=[{"containerID": 0, "hostID": 100000, "size": 65536}],
                     gidMappings=[{"containerID": 0, "hostID": 100000, "size": 65536}],
                     timeOffsets=[{"clock": "boottime", "secs": 86400 * 365, "nanosecs": 0},
                                  {"clock": "monotonic", "secs": 1000, "nanosecs": 5}])
    r = run(plan, TMP)
    out = r.output
    check("all8: exit 0", r.status == 0, (r.messages, out))
    check("all8: pid 1", "pid=1" in out, out)
    check("all8: hostname", "\ntsoci-test\n" in out, out)
    check("all8: uid_map", "100000" in out and "65536" in out, out)
    for kind in ("user", "pid", "net", "ipc", "uts", "mnt", "cgroup", "time"):
        line = next((l for l in out.splitlines() if l.startswith(kind + "=")), "")
        check("all8: new %s ns" % kind, line and line.split("=", 1)[1] != host_ns(kind), line)
    check("all8: id root in userns", "uid=0(root)" in out or "uid=0 " in out, out)
    up = float(next(l for l in out.splitlines() if l and l[0].isdigit() and "." in l.split()[0]).split()[0])
    check("all8: boottime offset", up > 86400 * 365, up)
    check("all8: /dev/null bound", "1,   3" in out or "1, 3" in out, out)
    for m in (" /proc ", " /dev/pts ", " /dev/mqueue ", " /sys ", " /dev/shm "):
        check("all8: mounted%s" % m.rstrip(), m in out, out)
    check("all8: pid message before ready", [m["type"] for m in r.messages] == ["pid", "ready"], r.messages)


def t_join_netns():
    subprocess.run(["ip", "netns", "add", "tsoci-native"], check=True)
    try:
        path = "/run/netns/tsoci-native"
        ino = os.stat(path).st_ino
        ns = [{"type": "network", "path": path}] + [{"type": t} for t in ("pid", "mount", "uts", "ipc")]
        r = run(base_plan(R, ["readlink", "/proc/self/ns/net"], namespaces=ns,
                          mounts=default_mounts()[:5]), TMP)
        check("joinnet: same netns", r.output.strip() == "net:[%d]" % ino, (r.messages, r.output))
    finally:
        subprocess.run(["ip", "netns", "del", "tsoci-native"])


def t_binds_and_symlink_escape():
    src = os.path.join(TMP, "src")
    os.makedirs(src, exist_ok=True)
    open(os.path.join(src, "hello"), "w").write("hi\n")
    outside = os.path.join(TMP, "outside")  # a host dir the symlink points at (absolute)
    os.makedirs(outside, exist_ok=True)
    os.symlink(outside, os.path.join(R, "evil"))
    os.symlink("../../../../../../.." + outside, os.path.join(R, "evil2"))
    open(os.path.join(TMP, "hostfile"), "w").write("file-bind\n")
    mounts = default_mounts() + [
        mnt(src, "/mnt/ro", "bind", MS_BIND | MS_REC, remount=MS_RDONLY | MS_NOSUID),
        mnt(src, "/evil", "bind", MS_BIND),
        mnt("tmpfs", "/evil2/t", "tmpfs", 0),
        mnt(os.path.join(TMP, "hostfile"), "/etc/deep/hostfile", "bind", MS_BIND, create="file"),
        mnt("tmpfs", "/ro-tmp", "tmpfs", MS_RDONLY, "size=1m"),
        mnt("tmpfs", "/ro-tmp/sub", "tmpfs", 0, "size=1m"),
    ]
    script = ("cat /mnt/ro/hello; touch /mnt/ro/x 2>&1; ls %s; cat /etc/deep/hostfile; "
              "grep -E ' /(mnt/ro|ro-tmp|evil2?)' /proc/self/mountinfo; touch /ro-tmp/y 2>&1; "
              "touch /ro-tmp/sub/y && echo sub-writable" % outside)
    r = run(base_plan(R, ["sh", "-c", script], mounts=mounts), TMP)
    out = r.output
    check("binds: exit 0", r.status == 0, (r.messages, out))
    check("binds: ro bind readable", out.startswith("hi\n"), out)
    check("binds: ro bind not writable", "Read-only file system" in out, out)
    check("binds: symlinked dest stays in rootfs", "hello" in out.split("\n")[2] if len(out.split("\n")) > 2 else False, out)
    check("binds: nothing mounted on host target", not os.listdir(outside), os.listdir(outside))
    check("binds: in-rootfs target created", os.path.isdir(os.path.join(R, outside.lstrip("/"))), out)
    check("binds: file bind", "file-bind" in out, out)
    check("binds: ro tmpfs is ro (deferred)", " /ro-tmp ro," in out or "/ro-tmp ro" in out, out)
    check("binds: mount under ro tmpfs works", "sub-writable" in out, out)


def t_masked_readonly_devices():
    script = ("cat /proc/keys | wc -c; ls /sys/firmware | wc -l; echo 1 > /proc/sys/kernel/domainname 2>&1;"
              "grep ' /proc/sys ' /proc/self/mountinfo; ls -l /dev/null /dev/zero; echo x > /dev/null && echo nullok;"
              "readlink /dev/fd; readlink /dev/ptmx; touch /rootfile 2>&1; true")
    r = run(base_plan(R, ["sh", "-c", script], rootfsReadonly=True, mounts=default_mounts(),
                      maskedPaths=["/proc/keys", "/sys/firmware", "/proc/nonexistent"]), TMP)
    out = r.output
    check("mask: exit 0", r.status == 0, (r.messages, out))
    lines = out.splitlines()
    check("mask: /proc/keys empty", lines[0].strip() == "0", out)
    check("mask: /sys/firmware empty", lines[1].strip() == "0", out)
    check("ro: /proc/sys read-only", "Read-only file system" in lines[2] and " ro," in lines[3], out)
    check("dev: nodes", "1,   3" in out and "1,   5" in out and "nullok" in out, out)
    check("dev: symlinks", "/proc/self/fd\npts/ptmx" in out, out)
    check("rootfs ro", out.rstrip().endswith("Read-only file system"), out)


def t_caps_nonroot():
    caps = {"bounding": [0, 10], "effective": [10], "permitted": [10], "inheritable": [10], "ambient": [10]}
    p = base_plan(R, ["sh", "-c", "id; grep -E '^Cap|NoNewPrivs' /proc/self/status; ulimit -n; pwd"])
    p["process"].update(uid=1000, gid=1000, additionalGids=[2000, 3000], capabilities=caps,
                        noNewPrivileges=True, cwd="/home/user",
                        rlimits=[{"resource": 7, "soft": 512, "hard": 1024}])
    r = run(p, TMP)
    out = r.output
    check("caps: exit 0", r.status == 0, (r.messages, out))
    check("caps: ids", "uid=1000 gid=1000 groups=2000,3000" in out, out)
    for k, v in (("CapInh", 0x400), ("CapPrm", 0x400), ("CapEff", 0x400), ("CapBnd", 0x401), ("CapAmb", 0x400)):
        check("caps: %s" % k, "%s:\t%016x" % (k, v) in out, out)
    check("caps: no_new_privs", "NoNewPrivs:\t1" in out, out)
    check("rlimit nofile", "\n512\n" in out, out)
    check("cwd created", out.rstrip().endswith("/home/user"), out)


def t_exec_errors():
    os.makedirs(os.path.join(R, "noexec"), exist_ok=True)
    open(os.path.join(R, "noexec", "f"), "w").write("x")
    for args, want in ((["nosuch"], 'exec: "nosuch": executable file not found in $PATH'),
                       (["/nope"], 'exec: "/nope": stat /nope: no such file or directory'),
                       (["/noexec/f"], 'exec: "/noexec/f": permission denied')):
        r = run(base_plan(R, args), TMP)
        e = r.error()
        check("exec error %s" % args[0], e and e["message"] == want and e["step"] == "exec", r.messages)


def t_mount_error():
    mounts = default_mounts() + [mnt("x", "/bad", "nosuchfs", 0)]
    r = run(base_plan(R, ["true"], mounts=mounts), TMP)
    e = r.error()
    want = "mount x to /bad (in rootfs %s): no such device (ENODEV)" % R
    check("mount error line", e and e["message"] == want and e["errno"] == 19 and e["path"] == "/bad", r.messages)
    check("mount error: only pid + error", [m["type"] for m in r.messages] == ["pid", "error"], r.messages)


def t_foreground():
    r = run(base_plan(R, ["sh", "-c", "echo fg; exit 7"], wait="foreground"), TMP)
    check("foreground exit 7", r.status == 7 and "fg" in r.output, (r.status, r.output, r.messages))
    # (a PID-namespace init cannot SIGKILL itself: no pid ns here)
    r = run(base_plan(R, ["sh", "-c", "kill -9 $$"], wait="foreground",
                      namespaces=[{"type": "mount"}], mounts=default_mounts()[1:]), TMP)
    check("foreground killed -> 137", r.status == 137, (r.status, r.messages))
    # no pid ns: stage0 as subreaper reaps the orphan and still reports the init's status
    ns = [{"type": "mount"}, {"type": "uts"}]
    r = run(base_plan(R, ["sh", "-c", "(sleep 0.2 &) ; exit 3"], wait="foreground", namespaces=ns,
                      mounts=default_mounts()[1:]), TMP)
    check("foreground no pidns exit 3", r.status == 3, (r.status, r.messages, r.output))


def t_hooks_and_preserve():
    rfd, wfd = os.pipe()
    seen = []
    p = base_plan(R, ["sh", "-c", "echo via-fd3 >&3; ls /proc/self/fd"], pauseForHooks=True, preserveFds=1)
    r = run(p, TMP, extra_fd=wfd)
    os.close(wfd)
    data = os.read(rfd, 100).decode()
    os.close(rfd)
    check("hooks: message order", [m["type"] for m in r.messages] == ["pid", "hooks", "ready"], r.messages)
    check("preserve fd 3", data == "via-fd3\n", data)
    # 0-2, the preserved 3, and the fd ls itself uses to read the directory
    check("no leaked fds", r.output.split() == ["0", "1", "2", "3", "4"], r.output)


def t_exec_mode():
    # a running container to exec into (detached; its output goes to /dev/null)
    plan = base_plan(R, ["sleep", "30"], hostname="exec-target")
    plan["execFifo"] = ""
    plan.pop("execFifo")
    import socket as s
    parent, child = s.socketpair()
    proc = subprocess.Popen([INIT], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            pass_fds=[child.fileno()], env={"TSOCI_SYNC_FD": str(child.fileno())})
    child.close()
    parent.sendall((json.dumps(plan) + "\n").encode())
    msgs = [json.loads(l) for l in parent.makefile("rb")]
    proc.wait()
    pid = next(m["pid"] for m in msgs if m["type"] == "pid")
    try:
        ns = [{"type": t, "path": "/proc/%d/ns/%s" % (pid, k)} for t, k in
              (("pid", "pid"), ("network", "net"), ("ipc", "ipc"), ("uts", "uts"), ("mount", "mnt"),
               ("cgroup", "cgroup"))]
        ex = base_plan(R, ["sh", "-c", "hostname; echo $$; ps -o pid,comm | grep -c sleep; pwd"],
                       mode="exec", namespaces=ns, execTargetPid=pid)
        ex["process"]["cwd"] = "/proc"
        r = run(ex)
        out = r.output.split()
        check("exec: joined", out[:1] == ["exec-target"] and out[2] == "1" and out[3] == "/proc",
              (r.messages, r.output))
        check("exec: messages", [m["type"] for m in r.messages] == ["pid", "ready"], r.messages)
        check("exec: host pid differs from ns pid", r.pid != int(out[1]), (r.pid, out))
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def t_userns_setgroups_deny_and_nonroot():
    ns = [{"type": t} for t in ("user", "pid", "mount", "ipc", "uts", "network")]
    p = base_plan(R, ["sh", "-c", "cat /proc/self/setgroups; id"], namespaces=ns,
                  devices=default_devices(), setgroupsDeny=True,
                  uidMappings=[{"containerID": 0, "hostID": 100000, "size": 65536}],
                  gidMappings=[{"containerID": 0, "hostID": 100000, "size": 65536}])
    p["process"].update(uid=1000, gid=1000)
    r = run(p, TMP)
    check("userns deny: output", "deny" in r.output and "uid=1000 gid=1000" in r.output, (r.messages, r.output))


def t_nopivot_sysctl():
    p = base_plan(R, ["sh", "-c", "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni; ls /; "
                      "grep -c . /proc/self/mountinfo"], noPivot=True,
                  sysctl={"net.ipv4.ip_forward": "1", "kernel.shmmni": "2048"})
    r = run(p, TMP)
    out = r.output.split()
    check("nopivot+sysctl: exit 0", r.status == 0, (r.messages, r.output))
    check("sysctl written", out[:2] == ["1", "2048"], r.output)
    check("nopivot: root is the rootfs", "busybox" not in out and "bin" in out and "evil" in out or "bin" in out,
          r.output)


def t_exec_userns():
    ns = [{"type": t} for t in ("user", "pid", "mount", "uts", "ipc", "network")]
    plan = base_plan(R, ["sleep", "30"], namespaces=ns, hostname="userns-target",
                     uidMappings=[{"containerID": 0, "hostID": 100000, "size": 65536}],
                     gidMappings=[{"containerID": 0, "hostID": 100000, "size": 65536}])
    r0 = run(plan, TMP, background=True)
    check("exec userns: target ready", r0.error() is None, r0.messages)
    pid = r0.pid
    try:
        ns = [{"type": t, "path": "/proc/%d/ns/%s" % (pid, k)} for t, k in
              (("user", "user"), ("pid", "pid"), ("uts", "uts"), ("mount", "mnt"), ("ipc", "ipc"))]
        ex = base_plan(R, ["sh", "-c", "hostname; id; cat /proc/self/uid_map"], mode="exec",
                       namespaces=ns, execTargetPid=pid)
        ex["process"].update(uid=1000, gid=1000)
        r = run(ex)
        check("exec userns: joined", "userns-target" in r.output and "uid=1000 gid=1000" in r.output
              and "100000" in r.output, (r.messages, r.output))
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


TESTS = {k[2:]: v for k, v in sorted(globals().items()) if k.startswith("t_")}
try:
    for name in sys.argv[1:] or TESTS:
        TESTS[name]()
finally:
    leaks = [l for l in open("/proc/self/mountinfo") if TMP in l]
    check("no host mounts left behind", not leaks, leaks)
    shutil.rmtree(TMP)
print("FAILED: %s" % FAILED if FAILED else "all passed")
sys.exit(1 if FAILED else 0)
