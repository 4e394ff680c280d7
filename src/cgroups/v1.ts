/**
 * cgroup v1 driver (cgroupfs): one directory per hierarchy (controllers mounted together,
 * like cpu,cpuacct, share one directory), plus the unified directory on hybrid hosts so the
 * container's processes are in the v2 hierarchy too (runc does the same; systemd and
 * `cgroup` namespaces look at it).
 *
 * Classic pitfall handled here: a new cpuset cgroup starts with empty cpuset.cpus and
 * cpuset.mems and no process can join it until they are set; every cpuset directory created
 * (intermediate ones too) gets its parent's values copied before anything else.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { LinuxResources } from '../spec/types';
import { TsociError } from '../util/errors';
import { cgError, cgRead, cgWrite, errCode } from './files';
import type { CgroupHost } from './mode';
import type { CgroupPaths } from './paths';
import { applyResourcesV1 } from './resources-v1';
import { skippable } from './rootless';

/** runc's subsystem order: cpuset first (others may depend on it), the named hierarchies last. */
const ORDER = ['cpuset', 'devices', 'memory', 'cpu', 'cpuacct', 'pids', 'blkio', 'hugetlb', 'net_cls', 'net_prio', 'perf_event', 'freezer', 'rdma', 'name=systemd', 'misc'];

export function orderedKeys(paths: CgroupPaths): string[] {
  const keys = Object.keys(paths);
  const rank = (k: string) => {
    if (k === '') return ORDER.length + 1;
    const i = ORDER.indexOf(k);
    return i < 0 ? ORDER.length : i;
  };
  return keys.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

export function mountPointOf(host: CgroupHost, key: string): string | undefined {
  if (key === '') return host.unified?.mountPoint;
  return host.v1.find((h) => h.controllers.includes(key))?.mountPoint;
}

/**
 * mkdir -p from the mount point down to dir; records each directory it created (parents
 * first) so a failed create can remove exactly those. onLevel runs for every level, existing
 * or new (cpuset uses it to fill empty cpus/mems).
 */
export function mkdirChain(mountPoint: string, dir: string, created: string[], onLevel?: (d: string) => void): void {
  const rel = path.posix.relative(mountPoint, dir);
  if (rel.startsWith('..') || path.posix.isAbsolute(rel)) throw new TsociError(`cgroup: ${dir} is not below ${mountPoint}`);
  let cur = mountPoint;
  for (const part of rel.split('/').filter(Boolean)) {
    cur = path.posix.join(cur, part);
    try {
      fs.mkdirSync(cur, 0o755);
      created.push(cur);
    } catch (err) {
      if (errCode(err) !== 'EEXIST') throw cgError('mkdir', cur, err);
    }
    if (onLevel) onLevel(cur);
  }
}

/** Copies cpuset.cpus / cpuset.mems from the parent when empty. */
export function cpusetCopyIfEmpty(dir: string): void {
  const parent = path.posix.dirname(dir);
  for (const f of ['cpuset.cpus', 'cpuset.mems']) {
    if (cgRead(dir, f) === '') cgWrite(dir, f, cgRead(parent, f));
  }
}

/** Removes directories created by a failed create, deepest first. */
export function rollback(created: string[]): void {
  for (const d of [...created].reverse()) {
    try {
      fs.rmdirSync(d);
    } catch {
      /* best effort */
    }
  }
}

export interface V1CreateOptions {
  rootless: boolean;
  /** the spec gave a cgroupsPath (rootless may then not silently skip a hierarchy) */
  explicitPath: boolean;
}

/**
 * The directories made, and what is left to do with them: the resources are written
 * separately, so a create can write them while the kernel moves its init in (index.ts).
 */
export interface MadeDirs {
  /** the paths actually in use */
  paths: CgroupPaths;
  applyResources(): void;
  /** removes the directories made (deepest first), never pre-existing ones */
  rollback(): void;
}

/** Paths with no directory of ours behind them: nothing to write, nothing to remove. */
export const nothingMade = (paths: CgroupPaths): MadeDirs => ({ paths, applyResources: () => undefined, rollback: () => undefined });

/** Creates the directories (cpuset ones filled from their parent); resources come later. */
export function makeV1Dirs(host: CgroupHost, paths: CgroupPaths, resources: LinuxResources | undefined, opts: V1CreateOptions): MadeDirs {
  if (resources?.unified && Object.keys(resources.unified).length > 0) {
    throw new TsociError('cgroup: invalid configuration: cannot use unified on cgroup v1');
  }
  const created: string[] = [];
  const result: CgroupPaths = { ...paths };
  const skipped: Record<string, TsociError> = {};
  try {
    const done = new Set<string>();
    for (const key of orderedKeys(paths)) {
      const dir = paths[key];
      if (done.has(dir)) continue;
      const mp = mountPointOf(host, key);
      if (!mp) throw new TsociError(`cgroup: no mount point for the ${key || 'unified'} hierarchy`);
      const isCpuset = host.v1.find((h) => h.mountPoint === mp)?.controllers.includes('cpuset') ?? false;
      try {
        mkdirChain(mp, dir, created, isCpuset ? cpusetCopyIfEmpty : undefined);
      } catch (err) {
        if (!skippable(opts, err)) throw err;
        // rootless, not ours to make: the container runs without this hierarchy
        for (const k of Object.keys(result)) {
          if (result[k] !== dir) continue;
          delete result[k];
          skipped[k] = err;
        }
        continue;
      }
      done.add(dir);
    }
  } catch (err) {
    rollback(created);
    throw err;
  }
  return {
    paths: result,
    applyResources: () => applyResourcesV1(result, resources, { rootless: opts.rootless, skipped }),
    rollback: () => rollback(created),
  };
}
