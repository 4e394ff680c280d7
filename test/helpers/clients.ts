import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// Shared by the real-client tests (podman, containerd): running a client command with
// file-backed stdio, and putting the host back the way it was (cgroups, mounts).

export interface CmdResult {
  status: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Whether an executable is on $PATH. */
export function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v "$0"', cmd], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * Runs a command to completion. Output goes through files, not pipes: daemons the command
 * leaves behind (conmon, shims) would otherwise hold a pipe open and make us wait.
 */
export function runCmd(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string; input?: string } = {}): CmdResult {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'client-out-'));
  const outFd = fs.openSync(path.join(dir, 'out'), 'w+');
  const errFd = fs.openSync(path.join(dir, 'err'), 'w+');
  let inFd: number | 'ignore' = 'ignore';
  if (opts.input !== undefined) {
    fs.writeFileSync(path.join(dir, 'in'), opts.input);
    inFd = fs.openSync(path.join(dir, 'in'), 'r');
  }
  const started = Date.now();
  try {
    const r = spawnSync(cmd, args, { stdio: [inFd, outFd, errFd], timeout: opts.timeoutMs ?? 60000, env: opts.env ?? process.env, cwd: opts.cwd });
    return {
      status: r.status ?? (r.signal ? 128 : 1),
      stdout: fs.readFileSync(path.join(dir, 'out'), 'utf8'),
      stderr: fs.readFileSync(path.join(dir, 'err'), 'utf8') + (r.error ? String(r.error) : ''),
      ms: Date.now() - started,
    };
  } finally {
    fs.closeSync(outFd);
    fs.closeSync(errFd);
    if (typeof inFd === 'number') fs.closeSync(inFd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Every cgroup directory on the host (all hierarchies), to remove what a client made. */
export function cgroupDirs(): Set<string> {
  const found = new Set<string>();
  const walk = (dir: string, depth: number) => {
    if (depth > 6) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = path.join(dir, e.name);
      found.add(p);
      walk(p, depth + 1);
    }
  };
  walk('/sys/fs/cgroup', 0);
  return found;
}

/**
 * Removes (deepest first) the cgroup directories that were not there before and that
 * `mine` says the client made (other suites may be creating cgroups meanwhile); returns
 * what could not be removed.
 */
export function removeNewCgroups(before: Set<string>, mine: (dir: string) => boolean): string[] {
  const stuck: string[] = [];
  const fresh = [...cgroupDirs()].filter((d) => !before.has(d) && mine(d)).sort((a, b) => b.length - a.length);
  for (const d of fresh) {
    try {
      fs.rmdirSync(d);
    } catch (e) {
      stuck.push(`${d}: ${(e as Error).message}`);
    }
  }
  return stuck;
}

/** Unmounts everything mounted at or below dir (deepest first, lazily if busy). */
export function unmountUnder(dir: string): void {
  for (let pass = 0; pass < 5; pass++) {
    const mps = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
      .map((l) => l.split(' ')[4])
      .filter((mp) => mp && (mp === dir || mp.startsWith(dir + '/')))
      .sort((a, b) => b.length - a.length);
    if (mps.length === 0) return;
    for (const mp of mps) {
      if (spawnSync('umount', ['-R', mp]).status !== 0) spawnSync('umount', ['-l', mp]);
    }
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
export function sleepMs(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

export function waitUntil(cond: () => boolean, timeoutMs = 15000, what = 'condition'): void {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met in ${timeoutMs} ms`);
    sleepMs(50);
  }
}
