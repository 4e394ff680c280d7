/**
 * Which fds above 2 tsoci's caller really passed, so `--preserve-fds N` and LISTEN_FDS hand
 * a container exactly those and never one of Node's own (its epoll, eventfd and pipes take
 * the lowest free numbers at start-up) or tsoci's (a state dir's lock).
 *
 * Once Node runs, its fd table cannot tell them apart: Node marks the inherited fds 0 … ~16
 * close-on-exec at start-up (uv_disable_stdio_inheritance; measured: fds 3 and 5 passed by a
 * shell were FD_CLOEXEC, 20 and 40 were not), as are all of its own. So the launcher
 * (bin/tsoci, cpp/launcher) lists them before it execs Node, in TSOCI_CALLER_FDS=<pid>:<ranges>,
 * which counts only when <pid> is ours (the exec keeps the pid; a stale export does not match).
 *
 * Without that record (the bundle started by `node` directly), an fd counts as passed only
 * when it is open and not close-on-exec: everything Node and libuv open is close-on-exec, so
 * this never takes one of theirs, but it cannot vouch for a low fd Node has marked; such an
 * fd is refused with a message that says why.
 */
import * as fs from 'fs';
import { TsociError } from '../util/errors';
import { CALLER_FDS as RECORD } from '../util/launcher-records';
const O_CLOEXEC = 0o2000000;

/** The launcher's record: null when absent or not ours; undefined until taken. */
let record: Set<number> | null | undefined;
/** The process whose fds the caller passed: ours, or a warm worker's launcher (src/warm/). */
let caller = process.pid;

/** Parses "<pid>:3,5-7": the fds, or null when malformed or naming another pid. */
export function parseCallerFds(value: string | undefined, pid: number): Set<number> | null {
  const m = value === undefined ? null : /^(\d+):((?:\d+(?:-\d+)?)(?:,\d+(?:-\d+)?)*)?$/.exec(value);
  if (!m || Number(m[1]) !== pid) return null;
  const fds = new Set<number>();
  for (const part of m[2] ? m[2].split(',') : []) {
    const [a, b = a] = part.split('-').map(Number);
    if (b < a || b - a > 1 << 20) return null;
    for (let fd = a; fd <= b; fd++) fds.add(fd);
  }
  return fds;
}

/** Reads the launcher's record and removes it from the environment (nothing tsoci starts sees it). */
export function takeCallerFdRecord(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): void {
  record = parseCallerFds(env[RECORD], pid);
  delete env[RECORD];
}

/**
 * A warm worker serves a launcher's command: the caller's fds are the launcher's (it keeps
 * them and lays them out for tsoci-init), its record came with the request, and the pid
 * systemd's LISTEN_PID names is the launcher's.
 */
export function useLauncherFdRecord(value: string, launcherPid: number): void {
  caller = launcherPid;
  record = parseCallerFds(value, launcherPid);
}

/** The pid the caller started (LISTEN_PID is checked against it). */
export function callerPid(): number {
  return caller;
}

type FdOrigin = 'passed' | 'absent' | 'unknown';

function fdOrigin(fd: number): FdOrigin {
  if (record === undefined) takeCallerFdRecord();
  if (record) return record.has(fd) ? 'passed' : 'absent';
  let info: string;
  try {
    info = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  } catch {
    return 'absent';
  }
  const flags = /^flags:\s*([0-7]+)/m.exec(info);
  return flags && (parseInt(flags[1], 8) & O_CLOEXEC) === 0 ? 'passed' : 'unknown';
}

/**
 * Refuses, before anything is made, a listen or preserved fd the caller did not pass:
 * fds 3 … 3+listen-1 (LISTEN_FDS), then the --preserve-fds ones, as runc numbers them.
 */
export function checkPassedFds(listen: number, preserve: number): void {
  for (let i = 0; i < listen + preserve; i++) {
    const fd = 3 + i;
    const origin = fdOrigin(fd);
    if (origin === 'passed') continue;
    const what = i < listen ? `listen fd ${fd} (LISTEN_FDS=${listen})` : `preserved-fd ${i - listen} (of ${preserve})`;
    if (origin === 'absent') throw new TsociError(`unable to stat ${what}: no such file or directory`, 'ENOENT');
    throw new TsociError(`unable to stat ${what}: fd ${fd} cannot be told from Node's own: run tsoci through its launcher (bin/tsoci)`, 'EBADF');
  }
}
