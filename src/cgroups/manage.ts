/**
 * Operations on existing cgroup directories (stored in state.json as CgroupPaths): join,
 * list pids, signal, freeze/thaw, update, remove. A paths map with any controller key is
 * handled as v1 (the "" entry of a hybrid host is only joined and removed); a map with only
 * "" is v2.
 */
import * as fs from 'fs';
import * as path from 'path';
import { constants as osConstants } from 'os';
import type { LinuxResources } from '../spec/types';
import { TsociError } from '../util/errors';
import { cgError, cgReadOpt, cgTryWrite, cgWrite, errCode, sleepMs, uniqueDirs } from './files';
import type { CgroupPaths } from './paths';
import { applyResourcesV1 } from './resources-v1';
import { applyResourcesV2 } from './resources-v2';
import { hasCgroupKill } from './v2';

export function isV1Paths(paths: CgroupPaths): boolean {
  return Object.keys(paths).some((k) => k !== '');
}

export function joinCgroups(paths: CgroupPaths, pid: number): void {
  for (const dir of uniqueDirs(paths)) cgWrite(dir, 'cgroup.procs', String(pid));
}

/**
 * joinCgroups on the threadpool, all hierarchies at once. Moving a process on cgroup v1 waits
 * for an RCU grace period (the first write of a burst: 5–30 ms here); the caller overlaps it
 * with its own work and awaits the promise before the process may fork.
 */
export function joinCgroupsInBackground(paths: CgroupPaths, pid: number): Promise<void> {
  // Opened here and each write handed to the threadpool before this returns: the caller goes
  // on synchronously (building the plan), and fs.writeFile would issue its write only from the
  // open's callback, once the event loop runs again, after that work instead of during it.
  // Like cgTryWrite: O_WRONLY|O_TRUNC, never O_CREAT.
  const files = uniqueDirs(paths).map((dir) => path.join(dir, 'cgroup.procs'));
  const fds: number[] = [];
  try {
    for (const file of files) fds.push(fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_TRUNC));
  } catch (err) {
    for (const fd of fds) fs.closeSync(fd);
    return Promise.reject(cgError('write', files[fds.length], err));
  }
  const text = Buffer.from(String(pid));
  const writes = fds.map(
    (fd, i) =>
      new Promise<void>((resolve, reject) =>
        fs.write(fd, text, (err) => {
          fs.closeSync(fd);
          if (err) reject(cgError('write', files[i], err));
          else resolve();
        }),
      ),
  );
  return Promise.all(writes).then(() => undefined);
}

/** The directory whose cgroup.procs lists the container's processes. */
function pidsDir(paths: CgroupPaths): string | undefined {
  for (const k of ['pids', 'freezer', '', 'devices', 'memory', 'cpu']) if (paths[k]) return paths[k];
  return uniqueDirs(paths)[0];
}

function collectPids(dir: string, out: Set<number>): void {
  const text = cgReadOpt(dir, 'cgroup.procs');
  if (text === undefined) return;
  for (const l of text.split('\n')) if (l) out.add(Number(l));
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) collectPids(path.join(dir, e.name), out);
}

/** All processes of the container (its sub-cgroups included), sorted, unique. */
export function cgroupPids(paths: CgroupPaths): number[] {
  const dir = pidsDir(paths);
  if (!dir) return [];
  const set = new Set<number>();
  collectPids(dir, set);
  return [...set].filter((n) => Number.isInteger(n) && n > 0).sort((a, b) => a - b);
}

function signalAll(pids: number[], signal: number): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (err) {
      if (errCode(err) !== 'ESRCH') throw new TsociError(`cgroup: kill ${pid}: ${(err as Error).message}`, errCode(err));
    }
  }
}

/**
 * Signals every process. v1 with a freezer, or v2: freeze first so nothing forks between
 * listing and signalling, then thaw (a frozen process acts on SIGKILL once thawed).
 * v2 + SIGKILL uses cgroup.kill when the kernel has it.
 */
export function killCgroup(paths: CgroupPaths, signal: number = osConstants.signals.SIGKILL): void {
  const v2 = !isV1Paths(paths) ? paths[''] : undefined;
  if (v2 && signal === osConstants.signals.SIGKILL && hasCgroupKill(v2)) {
    const code = cgTryWrite(v2, 'cgroup.kill', '1');
    if (!code || code === 'ENOENT') return;
  }
  let frozen = false;
  if (canFreeze(paths)) {
    try {
      freezeCgroups(paths);
      frozen = true;
    } catch {
      /* the cgroup may be going away: signal anyway */
    }
  }
  try {
    signalAll(cgroupPids(paths), signal);
  } finally {
    if (frozen) {
      try {
        thawCgroups(paths);
      } catch {
        /* ignore */
      }
    }
  }
}

function rmdirTree(dir: string): void {
  // The common case is a leaf: try rmdir first, and list the (large) directory only when
  // the container made sub-cgroups of its own.
  try {
    fs.rmdirSync(dir);
    return;
  } catch (err) {
    const code = errCode(err);
    if (code === 'ENOENT') return;
    if (code !== 'ENOTEMPTY' && code !== 'EBUSY' && code !== 'EEXIST') throw cgError('rmdir', dir, err);
  }
  let entries: fs.Dirent[] = [];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if (errCode(err) === 'ENOENT') return;
  }
  for (const e of entries) if (e.isDirectory()) rmdirTree(path.join(dir, e.name));
  for (let attempt = 0; ; attempt++) {
    try {
      fs.rmdirSync(dir);
      return;
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT') return;
      if (code === 'EBUSY' && attempt < 50) {
        sleepMs(attempt < 5 ? 2 : 20);
        continue;
      }
      throw cgError('rmdir', dir, err);
    }
  }
}

/** Removes each leaf directory (and sub-cgroups the container made); never the parents. */
export function removeCgroups(paths: CgroupPaths): void {
  let first: TsociError | undefined;
  for (const dir of uniqueDirs(paths)) {
    try {
      rmdirTree(dir);
    } catch (err) {
      first ??= err as TsociError;
    }
  }
  if (first) throw first;
}

function canFreeze(paths: CgroupPaths): boolean {
  if (paths.freezer) return true;
  return !isV1Paths(paths) && !!paths[''];
}

function freezerDir(paths: CgroupPaths): { dir: string; v1: boolean } {
  if (paths.freezer) return { dir: paths.freezer, v1: true };
  if (!isV1Paths(paths) && paths['']) return { dir: paths[''], v1: false };
  throw new TsociError('cgroup: cannot toggle freezer: cgroups not configured for container (no freezer hierarchy)');
}

function v2Frozen(dir: string): boolean | undefined {
  const events = cgReadOpt(dir, 'cgroup.events');
  if (events === undefined) return undefined;
  const m = /^frozen (\d)$/m.exec(events);
  return m ? m[1] === '1' : undefined;
}

function waitV2(dir: string, want: boolean): void {
  for (let i = 0; i < 500; i++) {
    const f = v2Frozen(dir);
    if (f === undefined || f === want) return;
    sleepMs(i < 10 ? 1 : 10);
  }
  throw new TsociError(`cgroup: ${dir}: timed out waiting for the cgroup to become ${want ? 'frozen' : 'thawed'}`);
}

export function freezeCgroups(paths: CgroupPaths): void {
  const { dir, v1 } = freezerDir(paths);
  if (!v1) {
    cgWrite(dir, 'cgroup.freeze', '1');
    try {
      waitV2(dir, true);
    } catch (err) {
      cgTryWrite(dir, 'cgroup.freeze', '0');
      throw err;
    }
    return;
  }
  // v1: FREEZING can last while tasks are in uninterruptible sleep or keep forking; keep
  // asking, and now and then thaw briefly so a stuck freeze can start over.
  for (let i = 0; i < 1000; i++) {
    if (i % 50 === 49) {
      cgTryWrite(dir, 'freezer.state', 'THAWED');
      sleepMs(10);
    }
    cgWrite(dir, 'freezer.state', 'FROZEN');
    const state = cgReadOpt(dir, 'freezer.state');
    if (state === 'FROZEN') return;
    if (state !== 'FREEZING') {
      cgTryWrite(dir, 'freezer.state', 'THAWED');
      throw new TsociError(`cgroup: unexpected freezer state ${JSON.stringify(state)} while freezing ${dir}`);
    }
    if (i % 25 === 24) sleepMs(1);
  }
  cgTryWrite(dir, 'freezer.state', 'THAWED');
  throw new TsociError(`cgroup: unable to freeze ${dir}`);
}

export function thawCgroups(paths: CgroupPaths): void {
  const { dir, v1 } = freezerDir(paths);
  if (!v1) {
    cgWrite(dir, 'cgroup.freeze', '0');
    waitV2(dir, false);
    return;
  }
  for (let i = 0; i < 1000; i++) {
    cgWrite(dir, 'freezer.state', 'THAWED');
    const state = cgReadOpt(dir, 'freezer.state');
    if (state === 'THAWED' || state === undefined) return;
    sleepMs(1);
  }
  throw new TsociError(`cgroup: unable to thaw ${dir}`);
}

export function isFrozen(paths: CgroupPaths): boolean {
  if (paths.freezer) {
    const state = cgReadOpt(paths.freezer, 'freezer.state');
    if (state !== 'FROZEN') return false;
    // FROZEN because an ancestor is frozen does not make this container paused
    return cgReadOpt(paths.freezer, 'freezer.self_freezing') !== '0';
  }
  if (!isV1Paths(paths) && paths['']) return cgReadOpt(paths[''], 'cgroup.freeze') === '1';
  return false;
}

export function updateCgroups(paths: CgroupPaths, resources: LinuxResources): void {
  if (isV1Paths(paths)) {
    applyResourcesV1(paths, resources, { update: true });
    return;
  }
  const dir = paths[''];
  if (!dir) throw new TsociError('cgroup: cannot update resources: the container has no cgroup');
  applyResourcesV2(dir, resources, { update: true });
}
