import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** What a container run could leave behind on the host (every cgroup directory, whatever its name). */
export interface HostSnapshot {
  mounts: string[];
  initProcs: string[];
  cgroups: string[];
  stateEntries: string[];
}

const CGROUP_ROOT = '/sys/fs/cgroup';

function mountsOfInterest(): string[] {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((l) => l.split(' ')[4])
    .filter((mp) => mp && /tsoci|bundle|rootfs/.test(mp))
    .sort();
}

function initProcesses(): string[] {
  try {
    return execFileSync('pgrep', ['-a', '-f', 'tsoci-init'], { encoding: 'utf8' }).split('\n').filter(Boolean)
      .filter((l) => !l.includes('pgrep'));
  } catch {
    return [];
  }
}

function tsociCgroups(): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 4) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = path.join(dir, e.name);
      found.push(p);
      walk(p, depth + 1);
    }
  };
  walk(CGROUP_ROOT, 0);
  return found.sort();
}

function stateEntries(root: string): string[] {
  try {
    return fs.readdirSync(root).sort();
  } catch {
    return [];
  }
}

export function snapshot(root: string): HostSnapshot {
  return { mounts: mountsOfInterest(), initProcs: initProcesses(), cgroups: tsociCgroups(), stateEntries: stateEntries(root) };
}

/** Everything in `after` that was not in `before`: the leaks. */
export function diff(before: HostSnapshot, after: HostSnapshot): string[] {
  const leaks: string[] = [];
  for (const key of Object.keys(after) as (keyof HostSnapshot)[]) {
    const was = new Set(before[key]);
    for (const item of after[key]) if (!was.has(item)) leaks.push(`${key}: ${item}`);
  }
  return leaks;
}
