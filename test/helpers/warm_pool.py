#!/usr/bin/env python3
# A minimal stand-in for the warm pool's supervisor (the contract in src/warm/README.md), so the
# handoff tests do not depend on `tsoci warm start`: binds <dir>/pool.sock (0600, dir 0700),
# keeps N workers (node bin/loader.js with TSOCI_WARM_ROLE=worker, fd 3 the listening socket,
# fd 4 the events pipe), starts a replacement for each that accepted, prints every event line
# on stdout, reaps them. SIGTERM: stops (ready workers see fd 4 close and exit).
import os
import select
import signal
import socket
import sys

directory, count, node, loader = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
os.makedirs(directory, mode=0o700, exist_ok=True)
os.chmod(directory, 0o700)
path = os.path.join(directory, 'pool.sock')
if os.path.exists(path):
    os.unlink(path)
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(path)
os.chmod(path, 0o600)
listener.listen(64)
stopping = False


def stop(_sig, _frame):
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, stop)
devnull = os.open('/dev/null', os.O_RDWR)


def start():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        for i in range(3):
            os.dup2(devnull, i)
        os.dup2(listener.fileno(), 3)
        os.dup2(w, 4)
        os.set_inheritable(3, True)
        os.set_inheritable(4, True)
        os.closerange(5, 65536)
        os.chdir('/')
        os.execve(node, [node, loader], {'TSOCI_WARM_ROLE': 'worker', 'PATH': os.environ.get('PATH', '/usr/bin:/bin')})
    os.close(w)
    return os.fdopen(r, 'r', buffering=1)


pipes = [start() for _ in range(count)]
while not stopping:
    try:
        readable, _, _ = select.select(pipes, [], [], 0.2)
    except InterruptedError:
        continue
    for f in readable:
        line = f.readline()
        if not line:
            pipes.remove(f)
            f.close()
            continue
        sys.stdout.write(line)
        sys.stdout.flush()
        if '"accepted"' in line:
            pipes.append(start())
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
os.unlink(path)
for f in pipes:
    f.close()
listener.close()
# the ready workers exit as their events pipe closes: reap them (a busy one ends with its command)
signal.signal(signal.SIGALRM, lambda *_: sys.exit(0))
signal.alarm(10)
while True:
    try:
        os.waitpid(-1, 0)
    except ChildProcessError:
        break
