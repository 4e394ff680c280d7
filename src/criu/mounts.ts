import * as fs from 'fs';
import * as path from 'path';
import type { Spec } from '../spec/types';
import type { CgroupHost, CgroupPaths } from '../cgroups';
import { planCgroupMounts } from '../cgroups';
import type { ExtMount } from './messages';

/** The devices every container gets (runc's default list): bind-mounted when mknod is not allowed. */
const DEFAULT_DEVICES = ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty'];

/**
 * Mounts whose source lies outside the container: CRIU cannot dump what they show, so they are
 * declared external, as runc declares them. At dump the key is the mount point in the container
 * and the value the name recorded in the image (runc uses the mount point again); at restore
 * the key is that name and the value the host path to bind there.
 */
export function externalMounts(
  spec: Spec,
  cgroupPaths: CgroupPaths,
  side: { dump: true; maskedFileExists: (p: string) => boolean } | { dump: false },
  host?: CgroupHost,
): ExtMount[] {
  const out: ExtMount[] = [];
  const add = (destination: string, source: string) => {
    const dest = path.posix.resolve('/', destination);
    out.push(side.dump ? { key: dest, val: dest } : { key: dest, val: source });
  };
  const hasCgroupNs = (spec.linux?.namespaces ?? []).some((n) => n.type === 'cgroup');
  for (const m of spec.mounts ?? []) {
    const opts = m.options ?? [];
    if (m.type === 'bind' || opts.includes('bind') || opts.includes('rbind')) {
      add(m.destination, path.resolve(m.source ?? ''));
    } else if (m.type === 'cgroup') {
      // what create mounts there on this host (v1: a bind per hierarchy on a tmpfs; v2: one bind)
      for (const pm of planCgroupMounts(m.destination, opts, cgroupPaths, hasCgroupNs, host).mounts) {
        if (pm.type === 'bind') add(pm.destination, pm.source);
      }
    }
  }
  const masked = (spec.linux?.maskedPaths ?? []).filter((p) => side.dump ? side.maskedFileExists(p) : true);
  if (side.dump) for (const p of masked) out.push({ key: p, val: '/dev/null' });
  else if (masked.length) out.push({ key: '/dev/null', val: '/dev/null' });
  const devices = new Set([...DEFAULT_DEVICES, ...(spec.linux?.devices ?? []).map((d) => d.path)]);
  for (const d of devices) add(d, d);
  return out;
}

/** A masked path that is a file (a directory is masked with a tmpfs, which CRIU dumps). */
export function maskedFileIn(pid: number): (p: string) => boolean {
  return (p) => {
    try {
      return !fs.statSync(`/proc/${pid}/root${path.posix.resolve('/', p)}`).isDirectory();
    } catch {
      return false;
    }
  };
}

/**
 * Like runc before a restore: the mount points CRIU mounts on must exist in the rootfs (a
 * fresh copy of it has none of them). Not for cgroup mounts (inside /sys) nor below a tmpfs
 * (CRIU restores its content). A path through a symlink or a non-directory is left alone:
 * nothing is created outside the rootfs, and CRIU then names the missing mount point.
 */
export function createMountPoints(rootfs: string, spec: Spec): void {
  const mounts = spec.mounts ?? [];
  const tmpfs = mounts.filter((m) => m.type === 'tmpfs').map((m) => path.posix.resolve('/', m.destination));
  for (const m of mounts) {
    if (m.type === 'cgroup') continue;
    const dest = path.posix.resolve('/', m.destination);
    if (dest === '/' || tmpfs.some((t) => dest.startsWith(t + '/'))) continue;
    const opts = m.options ?? [];
    const isBind = m.type === 'bind' || opts.includes('bind') || opts.includes('rbind');
    let file = false;
    try {
      file = isBind && !fs.statSync(path.resolve(m.source ?? '')).isDirectory();
    } catch {
      /* a missing source: CRIU's error names it */
    }
    createInRoot(rootfs, dest, file);
  }
}

function createInRoot(rootfs: string, dest: string, file: boolean): void {
  const parts = dest.split('/').filter(Boolean);
  let cur = rootfs;
  for (const [i, part] of parts.entries()) {
    cur = path.join(cur, part);
    const last = i === parts.length - 1;
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(cur);
    } catch {
      st = undefined;
    }
    if (st) {
      if (st.isSymbolicLink() || (!last && !st.isDirectory())) return;
      continue;
    }
    try {
      if (last && file) fs.closeSync(fs.openSync(cur, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o644));
      else fs.mkdirSync(cur, { mode: 0o755 });
    } catch {
      return; // created meanwhile, or not creatable: CRIU reports what it misses
    }
  }
}
