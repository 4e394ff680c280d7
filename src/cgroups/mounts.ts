/**
 * A spec mount of type "cgroup" expanded into planned mounts, as runc does
 * (libcontainer/rootfs_linux.go mountCgroupV1/mountCgroupV2):
 *
 * v1 / hybrid
 *  1. a tmpfs at the destination: nosuid,nodev,noexec, "mode=755", the mount's propagation.
 *     It stays writable (runc never remounts it read-only: only the mount entry of type
 *     "cgroup" carries MS_RDONLY, and the sub-directories and symlinks are made in it).
 *  2. one mount per v1 hierarchy the container has a directory in, at
 *     <destination>/<basename of the host mount point> ("cpu,cpuacct", "systemd", …):
 *     - without a cgroup namespace: a recursive bind of the container's own directory,
 *       remounted with the mount's flags (ro, nosuid, …);
 *     - with a cgroup namespace: a fresh "cgroup" mount of that hierarchy (data = its
 *       controllers, "name=systemd" for the named one), nosuid,nodev,noexec (+ ro); the
 *       namespace root is the container's cgroup.
 *  3. for combined hierarchies, one symlink per controller: cpu → cpu,cpuacct, cpuacct → cpu,cpuacct.
 *  The unified hierarchy of a hybrid host is not mounted (runc neither).
 * v2
 *  - with a cgroup namespace: a cgroup2 mount with the mount's flags and data;
 *  - without: a recursive bind of the container's unified directory (emulating a cgroup
 *    namespace, rather than exposing the whole host tree).
 * With no cgroup directories at all (rootless without delegation): v1 gets the tmpfs only,
 * v2 a bind of the host's cgroup2 mount point.
 */
import * as path from 'path';
import type { PlannedMount, PlannedSymlink } from '../plan/launch-plan';
import { TsociError } from '../util/errors';
import { CgroupHost, cgroupHost } from './mode';
import type { CgroupPaths } from './paths';

export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_SYNCHRONOUS = 0x10;
export const MS_MANDLOCK = 0x40;
export const MS_DIRSYNC = 0x80;
export const MS_NOATIME = 0x400;
export const MS_NODIRATIME = 0x800;
export const MS_BIND = 0x1000;
export const MS_REC = 0x4000;
export const MS_UNBINDABLE = 0x20000;
export const MS_PRIVATE = 0x40000;
export const MS_SLAVE = 0x80000;
export const MS_SHARED = 0x100000;
export const MS_RELATIME = 0x200000;
export const MS_STRICTATIME = 0x1000000;

const SET: Record<string, number> = {
  ro: MS_RDONLY, nosuid: MS_NOSUID, nodev: MS_NODEV, noexec: MS_NOEXEC, sync: MS_SYNCHRONOUS, mand: MS_MANDLOCK,
  dirsync: MS_DIRSYNC, noatime: MS_NOATIME, nodiratime: MS_NODIRATIME, relatime: MS_RELATIME, strictatime: MS_STRICTATIME,
};
const CLEAR: Record<string, number> = {
  rw: MS_RDONLY, suid: MS_NOSUID, dev: MS_NODEV, exec: MS_NOEXEC, async: MS_SYNCHRONOUS, nomand: MS_MANDLOCK,
  atime: MS_NOATIME, diratime: MS_NODIRATIME, norelatime: MS_RELATIME, nostrictatime: MS_STRICTATIME,
};
const PROPAGATION: Record<string, number> = {
  private: MS_PRIVATE, rprivate: MS_PRIVATE | MS_REC, shared: MS_SHARED, rshared: MS_SHARED | MS_REC,
  slave: MS_SLAVE, rslave: MS_SLAVE | MS_REC, unbindable: MS_UNBINDABLE, runbindable: MS_UNBINDABLE | MS_REC,
};

/** Mount options of a cgroup mount → flags, propagation, and leftover data. */
export function parseCgroupMountOptions(options: string[]): { flags: number; propagation: number[]; data: string } {
  let flags = 0;
  const propagation: number[] = [];
  const data: string[] = [];
  for (const o of options) {
    if (o in SET) flags |= SET[o];
    else if (o in CLEAR) flags &= ~CLEAR[o];
    else if (o in PROPAGATION) propagation.push(PROPAGATION[o]);
    else if (o === 'bind' || o === 'rbind' || o === 'defaults') continue;
    else data.push(o);
  }
  return { flags, propagation, data: data.join(',') };
}

export function planCgroupMounts(
  destination: string,
  options: string[],
  paths: CgroupPaths,
  hasCgroupNs: boolean,
  host: CgroupHost = cgroupHost(),
): { mounts: PlannedMount[]; symlinks: PlannedSymlink[] } {
  const dest = path.posix.normalize(destination).replace(/(.)\/+$/, '$1');
  const { flags, propagation, data } = parseCgroupMountOptions(options);
  const hasV1Paths = Object.keys(paths).some((k) => k !== '');
  const v2 = hasV1Paths ? false : paths[''] ? true : host.mode === 'v2';

  if (v2) {
    if (hasCgroupNs) {
      return {
        mounts: [{ source: 'cgroup', destination: dest, type: 'cgroup2', flags, data, remountFlags: 0, propagationFlags: propagation, createAs: 'dir' }],
        symlinks: [],
      };
    }
    const source = paths[''] || host.unified?.mountPoint;
    if (!source) throw new TsociError('cgroup: cannot mount cgroup2: no cgroup2 hierarchy on the host');
    return {
      mounts: [{ source, destination: dest, type: 'bind', flags: MS_BIND | MS_REC, data: '', remountFlags: flags, propagationFlags: propagation, createAs: 'dir' }],
      symlinks: [],
    };
  }

  const mounts: PlannedMount[] = [
    { source: 'tmpfs', destination: dest, type: 'tmpfs', flags: MS_NOEXEC | MS_NOSUID | MS_NODEV, data: 'mode=755', remountFlags: 0, propagationFlags: propagation, createAs: 'dir' },
  ];
  const symlinks: PlannedSymlink[] = [];
  const names = new Set<string>();
  for (const h of host.v1) {
    const key = h.controllers.find((c) => paths[c]);
    if (!key) continue;
    const name = path.posix.basename(h.mountPoint);
    names.add(name);
    const target = path.posix.join(dest, name);
    if (hasCgroupNs) {
      mounts.push({
        source: 'cgroup', destination: target, type: 'cgroup', flags: MS_NOEXEC | MS_NOSUID | MS_NODEV | (flags & MS_RDONLY),
        data: h.controllers.join(','), remountFlags: 0, propagationFlags: [], createAs: 'dir',
      });
    } else {
      mounts.push({ source: paths[key], destination: target, type: 'bind', flags: MS_BIND | MS_REC, data: '', remountFlags: flags, propagationFlags: propagation, createAs: 'dir' });
    }
  }
  for (const name of names) {
    if (!name.includes(',')) continue;
    for (const sub of name.split(',')) {
      if (!sub || names.has(sub)) continue;
      symlinks.push({ target: name, path: path.posix.join(dest, sub) });
    }
  }
  return { mounts, symlinks };
}
