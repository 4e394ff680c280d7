/**
 * cgroupsPath rules (runc's, checked against opencontainers/cgroups fs/paths.go,
 * fs2/defaultpath.go, systemd/common.go):
 *
 * cgroupfs driver
 *  - the path is first cleaned lexically ("../" cannot climb out: "a/../../b" → "b",
 *    "/../x" → "/x").
 *  - absolute ("/libpod_parent/libpod-<id>", "/<ns>/<id>"): joined to each hierarchy's
 *    mount point: /sys/fs/cgroup/memory/libpod_parent/libpod-<id>.
 *  - relative ("foo/bar"): relative to *this process's own cgroup* in each hierarchy
 *    (runc's "dind-like" rule: GetOwnCgroupPath), i.e. mountpoint + own path + "foo/bar".
 *    On a pure v2 host runc uses the *parent* of its own cgroup (its own usually holds
 *    processes, and a v2 cgroup with processes cannot enable controllers for children);
 *    we do the same. On a hybrid host the unified ("") directory follows the v1 rule.
 *  - missing: the container id, as a relative path (runc: Name = id, so "<own cgroup>/<id>").
 *    We chose runc's behaviour, not "/tsoci/<id>", so callers get what they get from runc.
 *
 * systemd driver ("slice:prefix:name")
 *  - slice "" → "system.slice"; a slice name expands like systemd: "a-b.slice" →
 *    "/a.slice/a-b.slice"; "-.slice" → "/".
 *  - unit: "<prefix>-<name>.scope", or "<name>.scope" when the prefix is empty, or <name>
 *    itself when it ends in ".slice".
 *  - missing cgroupsPath: slice system.slice, prefix "tsoci", name = id (runc uses "runc").
 *  - directories: each hierarchy's mount point + slice path + unit (not relative to our own
 *    cgroup), plus the unified directory on hybrid hosts.
 */
import * as path from 'path';
import { TsociError } from '../util/errors';
import { CgroupHost, ownCgroupDir } from './mode';

export type CgroupPaths = Record<string, string>;

/** runc's CleanPath: lexical clean; relative paths stay relative but cannot escape with "..". */
export function cleanCgroupPath(p: string | undefined): string {
  if (!p) return '';
  if (p.startsWith('/')) return path.posix.normalize(p).replace(/(.)\/+$/, '$1');
  const abs = path.posix.normalize('/' + p);
  const rel = path.posix.relative('/', abs);
  return rel;
}

/** The path below each hierarchy, before the absolute/relative rule is applied. */
export function innerPath(cgroupsPath: string | undefined, id: string): string {
  const inner = cleanCgroupPath(cgroupsPath);
  if (inner) return inner;
  return cleanCgroupPath(id);
}

/** Key under which a v1 hierarchy's directory is stored: every controller of it. */
export function hierarchyKeys(controllers: string[]): string[] {
  return controllers;
}

/** cgroupfs driver: directories by controller for a container. */
export function cgroupfsPaths(host: CgroupHost, cgroupsPath: string | undefined, id: string): CgroupPaths {
  const inner = innerPath(cgroupsPath, id);
  if (inner === '' || inner === '/') throw new TsociError(`cgroup: invalid cgroupsPath ${JSON.stringify(cgroupsPath ?? '')}: it names the root cgroup`);
  const absolute = inner.startsWith('/');
  const paths: CgroupPaths = {};
  if (host.mode === 'v2') {
    const u = host.unified!;
    paths[''] = absolute ? path.posix.join(u.mountPoint, inner) : path.posix.join(path.posix.dirname(ownCgroupDir(u)), inner);
    if (!paths[''].startsWith(u.mountPoint)) paths[''] = path.posix.join(u.mountPoint, inner);
    return paths;
  }
  for (const h of host.v1) {
    const dir = absolute ? path.posix.join(h.mountPoint, inner) : path.posix.join(ownCgroupDir(h), inner);
    for (const c of hierarchyKeys(h.controllers)) paths[c] = dir;
  }
  if (host.mode === 'hybrid' && host.unified) {
    const u = host.unified;
    paths[''] = absolute ? path.posix.join(u.mountPoint, inner) : path.posix.join(ownCgroupDir(u), inner);
  }
  return paths;
}

/** systemd's slice expansion: "a-b-c.slice" → "/a.slice/a-b.slice/a-b-c.slice". */
export function expandSlice(slice: string): string {
  const suffix = '.slice';
  const bad = (): never => {
    throw new TsociError(`systemd cgroup driver: invalid slice name: ${slice}`);
  };
  if (slice.length < suffix.length || !slice.endsWith(suffix) || slice.includes('/')) bad();
  const name = slice.slice(0, -suffix.length);
  if (name === '-') return '/';
  let out = '';
  let prefix = '';
  for (const part of name.split('-')) {
    if (part === '') bad();
    out += '/' + prefix + part + suffix;
    prefix += part + '-';
  }
  return out;
}

export interface SystemdUnit {
  /** e.g. "machine.slice" */
  slice: string;
  /** e.g. "libpod-<id>.scope" */
  unit: string;
  /** slice directory path, e.g. "/machine.slice" */
  slicePath: string;
}

export const DEFAULT_SYSTEMD_SCOPE_PREFIX = 'tsoci';

/** Parses "slice:prefix:name" (or nothing → system.slice:tsoci:<id>). */
export function parseSystemdCgroupsPath(cgroupsPath: string | undefined, id: string): SystemdUnit {
  let slice = '';
  let prefix = DEFAULT_SYSTEMD_SCOPE_PREFIX;
  let name = id;
  if (cgroupsPath) {
    const parts = cgroupsPath.split(':');
    if (parts.length !== 3) {
      throw new TsociError(`systemd cgroup driver: expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got ${JSON.stringify(cgroupsPath)} instead`);
    }
    [slice, prefix, name] = parts;
  }
  if (!name || name.includes('/')) throw new TsociError(`systemd cgroup driver: invalid unit name ${JSON.stringify(name)}`);
  if (!slice) slice = 'system.slice';
  const unit = name.endsWith('.slice') ? name : prefix ? `${prefix}-${name}.scope` : `${name}.scope`;
  return { slice, unit, slicePath: expandSlice(slice) };
}

/** systemd driver: the directories systemd creates for the unit. */
export function systemdPaths(host: CgroupHost, cgroupsPath: string | undefined, id: string): CgroupPaths {
  const u = parseSystemdCgroupsPath(cgroupsPath, id);
  const rel = path.posix.join(u.slicePath, u.unit);
  const paths: CgroupPaths = {};
  if (host.mode === 'v2') {
    paths[''] = path.posix.join(host.unified!.mountPoint, rel);
    return paths;
  }
  for (const h of host.v1) for (const c of h.controllers) paths[c] = path.posix.join(h.mountPoint, rel);
  if (host.mode === 'hybrid' && host.unified) paths[''] = path.posix.join(host.unified.mountPoint, rel);
  return paths;
}
