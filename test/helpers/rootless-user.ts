import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO } from './tsoci';
import { runCmd, sleepMs, which, type CmdResult } from './clients';

// A throwaway unprivileged user for the rootless tests: its own /etc/subuid and /etc/subgid
// ranges, a home and an XDG_RUNTIME_DIR; removed afterwards with everything it ran, and
// /etc/passwd, /etc/group, /etc/subuid, /etc/subgid left as they were.

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  xdg: string;
  /** first host id of its subordinate range (uids and gids), and its size */
  subStart: number;
  subCount: number;
  /** a tsoci the user can execute: the checkout's, or a copy when the checkout's path is closed to it */
  tsoci: string;
  /** where the copy was made (removed with the user) */
  copyDir?: string;
}

/** absolute: the user's PATH may be anything (a test leaves newuidmap out of it) */
export const SETPRIV = which('setpriv') ?? '/usr/bin/setpriv';

const ETC_FILES = ['/etc/passwd', '/etc/group', '/etc/shadow', '/etc/gshadow', '/etc/subuid', '/etc/subgid'];
const SUB_COUNT = 65536;

/** Why rootless tests cannot run here, or undefined. */
export function rootlessUnavailable(): string | undefined {
  if (process.geteuid?.() !== 0) return 'the tests must run as root (they create a user)';
  for (const tool of ['useradd', 'userdel', 'newuidmap', 'newgidmap', 'setpriv']) {
    if (spawnSync('sh', ['-c', 'command -v "$0"', tool]).status !== 0) return `${tool} is not installed (apt-get install passwd uidmap util-linux)`;
  }
  return undefined;
}

function freeSubRange(): number {
  let end = 100000;
  for (const f of ['/etc/subuid', '/etc/subgid']) {
    const text = fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
    for (const l of text.split('\n')) {
      const [, start, count] = l.split(':');
      if (start && count) end = Math.max(end, Number(start) + Number(count));
    }
  }
  return Math.ceil(end / SUB_COUNT) * SUB_COUNT + SUB_COUNT;
}

function must(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

/** Whether every step of the path is searchable, and the file readable, by the user. */
function userCanRead(u: { uid: number; gid: number }, file: string, execute = false): boolean {
  return spawnSync('test', [execute ? '-x' : '-r', file], { uid: u.uid, gid: u.gid }).status === 0;
}

export function createTestUser(prefix = 'tsrl'): TestUser {
  const name = `${prefix}${process.pid % 100000}`;
  const before = new Map(ETC_FILES.map((f) => [f, fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : undefined]));
  const subStart = freeSubRange();
  // no automatic ranges (login.defs SUB_UID_COUNT): the test picks a free one itself
  must('useradd', ['-m', '-s', '/bin/sh', '-K', 'SUB_UID_COUNT=0', '-K', 'SUB_GID_COUNT=0', name]);
  saved.set(name, before);
  must('usermod', ['--add-subuids', `${subStart}-${subStart + SUB_COUNT - 1}`, '--add-subgids', `${subStart}-${subStart + SUB_COUNT - 1}`, name]);
  const pw = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(name + ':'))!.split(':');
  const uid = Number(pw[2]);
  const gid = Number(pw[3]);
  const xdg = `/run/user/${uid}`;
  if (!fs.existsSync('/run/user')) {
    fs.mkdirSync('/run/user', { mode: 0o755 });
    madeRunUser = true;
  }
  fs.mkdirSync(xdg, { mode: 0o700 });
  fs.chownSync(xdg, uid, gid);
  const u: TestUser = { name, uid, gid, home: pw[5], xdg, subStart, subCount: SUB_COUNT, tsoci: path.join(REPO, 'bin', 'tsoci') };
  // CI clones under a root-only directory: then run a copy of the built runtime from /tmp
  const needed = ['bin/tsoci', 'dist/tsoci.js', 'build/Release/tsoci.node', 'build/Release/tsoci-init'];
  if (!needed.every((f) => userCanRead(u, path.join(REPO, f), f.startsWith('bin/') || f.endsWith('tsoci-init')))) {
    u.copyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-rootless-runtime-'));
    fs.chmodSync(u.copyDir, 0o755);
    for (const f of [...needed, 'dist/tsoci.js.cache', 'dist/systemd-dbus.js']) {
      if (!fs.existsSync(path.join(REPO, f))) continue;
      fs.mkdirSync(path.dirname(path.join(u.copyDir, f)), { recursive: true, mode: 0o755 });
      fs.copyFileSync(path.join(REPO, f), path.join(u.copyDir, f));
    }
    u.tsoci = path.join(u.copyDir, 'bin', 'tsoci');
  }
  return u;
}

const saved = new Map<string, Map<string, string | undefined>>();
let madeRunUser = false;

/** The user's processes and those running as its subordinate ids (containers, podman's pause process). */
export function userPids(u: TestUser): number[] {
  const pids: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let status: string;
    try {
      status = fs.readFileSync(`/proc/${e}/status`, 'utf8');
    } catch {
      continue;
    }
    const m = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
    if (!m) continue;
    const ids = [Number(m[1]), Number(m[2])];
    if (/^State:\s+Z/m.test(status)) continue;
    if (ids.some((id) => id === u.uid || (id >= u.subStart && id < u.subStart + u.subCount))) pids.push(Number(e));
  }
  return pids;
}

/** Kills what the user left running, deletes it and its home, restores the account files. */
export function removeTestUser(u: TestUser): string[] {
  const leftovers = userPids(u).map((p) => `pid ${p}`);
  for (let i = 0; i < 20; i++) {
    const pids = userPids(u);
    if (pids.length === 0) break;
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    sleepMs(100);
  }
  // podman leaves overlay/shm mounts in the user's namespace only; anything on the host side under home goes
  spawnSync('sh', ['-c', `grep -o " ${u.home}[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l`]);
  spawnSync('userdel', ['-r', '-f', u.name], { encoding: 'utf8' });
  fs.rmSync(u.home, { recursive: true, force: true });
  fs.rmSync(u.xdg, { recursive: true, force: true });
  if (madeRunUser && fs.readdirSync('/run/user').length === 0) fs.rmdirSync('/run/user');
  if (u.copyDir) fs.rmSync(u.copyDir, { recursive: true, force: true });
  // userdel keeps nothing of ours; restore byte for byte anyway when only our lines differ
  const before = saved.get(u.name);
  for (const f of ETC_FILES) {
    const was = before?.get(f);
    if (was === undefined || !fs.existsSync(f)) continue;
    const now = fs.readFileSync(f, 'utf8');
    if (now === was) continue;
    const ours = (l: string) => l.startsWith(u.name + ':');
    if (now.split('\n').filter((l) => !ours(l)).join('\n') === was.split('\n').filter((l) => !ours(l)).join('\n')) fs.writeFileSync(f, was);
  }
  saved.delete(u.name);
  return leftovers;
}

/**
 * Runs a command as the user (setpriv: real and effective ids, no supplementary groups), with
 * the environment a login would give it; `cgroupProcs` first moves the shell into that v2
 * cgroup (as root: the move needs write access to the common ancestor), as a delegated
 * subtree would have it. Run by runCmd (output through files).
 */
export function runAs(u: TestUser, argv: string[], opts: { env?: Record<string, string>; timeoutMs?: number; cwd?: string; cgroupProcs?: string } = {}): CmdResult {
  const env: Record<string, string> = {
    HOME: u.home, USER: u.name, LOGNAME: u.name, SHELL: '/bin/sh', XDG_RUNTIME_DIR: u.xdg,
    PATH: `${path.dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    ...opts.env,
  };
  const setpriv = [SETPRIV, `--reuid=${u.uid}`, `--regid=${u.gid}`, '--clear-groups', '--'];
  const cmd = opts.cgroupProcs
    ? ['sh', '-c', 'echo $$ > "$0" && exec "$@"', path.join(opts.cgroupProcs, 'cgroup.procs'), ...setpriv, ...argv]
    : [...setpriv, ...argv];
  return runCmd(cmd[0], cmd.slice(1), { timeoutMs: opts.timeoutMs, env, cwd: opts.cwd ?? u.home });
}

/** chown -R to the user (bundles it writes in). */
export function giveTo(u: TestUser, p: string): void {
  must('chown', ['-R', `${u.uid}:${u.gid}`, p]);
}
