#!/usr/bin/env python3
"""Runs a command on a fresh pty (its controlling terminal), like a user at a terminal.

usage: pty_run.py '<json>'   with
  {"argv": [...], "rows": R, "cols": C, "timeout": seconds,
   "steps": [{"expect": "text", "send": "input"} | {"expect": "text", "resize": [rows, cols]}]}
Each step waits until `expect` appears in the output (after the previous step's match;
"" matches at once), waits `delay` seconds if given, then types `send` or resizes the
terminal (the kernel sends SIGWINCH to the command).
Prints one JSON line: {"status": exit status (128+signal), "output": "...", "timedOut": bool,
"pendingSteps": n,
"termiosRestored": whether the terminal's modes are back to what they were}.
"""
import fcntl
import json
import os
import pty
import select
import struct
import sys
import termios
import time


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def main():
    cfg = json.loads(sys.argv[1])
    pid, master = pty.fork()
    if pid == 0:
        try:
            set_size(0, cfg.get("rows", 24), cfg.get("cols", 80))
            os.execvp(cfg["argv"][0], cfg["argv"])
        finally:
            os._exit(127)
    before = termios.tcgetattr(master)[:4]  # (the command has not started yet)
    steps = list(cfg.get("steps", []))
    out = b""
    searched_from = 0
    deadline = time.time() + cfg.get("timeout", 30)
    timed_out = False
    while True:
        if steps:
            want = steps[0]["expect"].encode()
            at = out.find(want, searched_from)
            if at >= 0:
                searched_from = at + len(want)
                step = steps.pop(0)
                if "delay" in step:
                    time.sleep(step["delay"])
                if "send" in step:
                    os.write(master, step["send"].encode())
                if "resize" in step:
                    set_size(master, step["resize"][0], step["resize"][1])
                continue
        left = deadline - time.time()
        if left <= 0:
            timed_out = True
            os.kill(pid, 9)
            break
        r, _, _ = select.select([master], [], [], min(left, 0.5))
        if not r:
            continue
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: every slave fd is closed
            break
        if not data:
            break
        out += data
    _, st = os.waitpid(pid, 0)
    try:
        restored = termios.tcgetattr(master)[:4] == before
    except termios.error:
        restored = None
    status = os.WEXITSTATUS(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st)
    os.close(master)
    print(json.dumps({"status": status, "output": out.decode("utf-8", "replace"),
                      "timedOut": timed_out, "pendingSteps": len(steps),
                      "termiosRestored": restored}))


if __name__ == "__main__":
    main()
