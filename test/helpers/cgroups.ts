import * as fs from 'fs';
import * as path from 'path';
import { TEST_ROOT } from './tsoci';

/** The cgroup directories tsoci recorded for a container (state.json), by controller ("" = unified). */
export function cgroupPathsOf(id: string, root = TEST_ROOT): Record<string, string> {
  const st = JSON.parse(fs.readFileSync(path.join(root, id, 'state.json'), 'utf8'));
  return st.cgroupPaths ?? {};
}

export function readCg(dir: string, file: string): string {
  return fs.readFileSync(path.join(dir, file), 'utf8').trim();
}

/** The host's v1 hierarchies: mount point → controllers (from /proc/self/mountinfo), and the cgroup2 mount point. */
export function hostHierarchies(): { v1: { mountPoint: string; controllers: string[] }[]; unified?: string } {
  const v1: { mountPoint: string; controllers: string[] }[] = [];
  let unified: string | undefined;
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!post) continue;
    const mp = pre.split(' ')[4];
    const [type, , superOpts] = post.split(' ');
    if (type === 'cgroup2') unified = mp;
    if (type !== 'cgroup') continue;
    const controllers = superOpts.split(',').filter((o) => !['rw', 'ro', 'relatime', 'noatime', 'nosuid', 'nodev', 'noexec'].includes(o));
    v1.push({ mountPoint: mp, controllers });
  }
  return { v1, unified };
}

/** This process's cgroup path in each hierarchy, keyed like /proc/self/cgroup ("pids", "name=systemd", "" for v2). */
export function ownCgroups(pid: number | 'self' = 'self'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    for (const c of m[1].split(',')) out[c] = m[2];
  }
  return out;
}

/** Every directory (under each hierarchy mount point and the cgroup2 mount) at relative path `rel`. */
export function dirsAt(rel: string): string[] {
  const { v1, unified } = hostHierarchies();
  return [...v1.map((h) => h.mountPoint), ...(unified ? [unified] : [])].map((mp) => path.join(mp, rel)).filter((d) => fs.existsSync(d));
}

/** Removes the (empty) parent directories a test's nested cgroupsPath left, deepest first. */
export function removeCgroupParents(rels: string[]): void {
  const { v1, unified } = hostHierarchies();
  for (const mp of [...v1.map((h) => h.mountPoint), ...(unified ? [unified] : [])]) {
    for (const rel of rels) {
      try {
        fs.rmdirSync(path.join(mp, rel));
      } catch {
        /* absent */
      }
    }
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
export function sleepMs(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

export function waitFor(cond: () => boolean, timeoutMs = 10000, what = 'condition'): void {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met in time`);
    sleepMs(20);
  }
}

export async function waitForAsync(cond: () => boolean, timeoutMs = 10000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met in time`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
