#!/usr/bin/env python3
"""A minimal seccomp notify agent for the tests (runtime-spec linux.seccomp.listenerPath).

usage: seccomp-agent.py SOCKET OUT MODE
  Listens on SOCKET. For every connection: receives the container process state JSON
  and one fd by SCM_RIGHTS, appends {"state": <json>, "fds": <count>, "fdTarget": <readlink>}
  as one line to OUT, then
    MODE "close":  closes the notify fd at once (the kernel then fails notified syscalls
                   with ENOSYS);
    MODE "answer": answers the first notification with ENOTBLK, records the syscall
                   number as {"answered": nr}, then closes the fd.
  Prints "listening" once the socket is bound. Runs until killed.
"""
import array
import errno
import fcntl
import json
import os
import socket
import struct
import sys

SECCOMP_IOCTL_NOTIF_RECV = 0xC0502100  # _IOWR('!', 0, struct seccomp_notif), 80 bytes
SECCOMP_IOCTL_NOTIF_SEND = 0xC0182101  # _IOWR('!', 1, struct seccomp_notif_resp), 24 bytes
NOTIF = struct.Struct("=QIIiIQ6Q")  # id, pid, flags, data.nr, data.arch, data.ip, data.args[6]
RESP = struct.Struct("=QqiI")  # id, val, error, flags


def record(out, obj):
    with open(out, "a") as f:
        f.write(json.dumps(obj) + "\n")


def receive(conn):
    data = b""
    fds = []
    while True:
        msg, got, _flags, _addr = socket.recv_fds(conn, 65536, 4)
        fds.extend(got)
        if not msg:
            break
        data += msg
    return data, fds


def answer_one(fd, out):
    buf = bytearray(NOTIF.size)  # must be zeroed: the kernel checks
    fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, buf, True)
    notif = NOTIF.unpack(bytes(buf))
    resp = bytearray(RESP.pack(notif[0], 0, -errno.ENOTBLK, 0))
    fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp, True)
    record(out, {"answered": notif[3], "pid": notif[1]})


def main():
    path, out, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(8)
    print("listening", flush=True)
    while True:
        conn, _ = srv.accept()
        with conn:
            data, fds = receive(conn)
        if not data and not fds:
            continue  # a launch that failed before loading the filter
        target = os.readlink(f"/proc/self/fd/{fds[0]}") if fds else ""
        record(out, {"state": json.loads(data.decode()), "fds": len(fds), "fdTarget": target})
        try:
            if mode == "answer" and fds:
                answer_one(fds[0], out)
        finally:
            for fd in fds:
                os.close(fd)


if __name__ == "__main__":
    main()
