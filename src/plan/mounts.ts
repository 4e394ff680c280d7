import * as path from 'path';
import type { Mount } from '../spec/types';
import type { PlannedMount } from './launch-plan';
import type { PlanOptions } from './options';
import type { NamespaceFacts } from './namespaces';
import { TsociError } from '../util/errors';
import { cleanContainerPath, hasNul } from './paths';
import { MS_BIND, MS_RDONLY, MS_REC, MS_REMOUNT, parseMountOptions } from './mount-options';

/** Flags that only say "this is a bind" and never go into the remount of a bind. */
const BIND_ONLY = MS_BIND | MS_REC | MS_REMOUNT;

/**
 * Whether a sysfs mount cannot be made and the host's /sys is bind-mounted (rbind, ro)
 * instead. Mounting sysfs needs CAP_SYS_ADMIN over the user namespace owning the current
 * network namespace: true for a new netns, and for a joined netns when no user namespace
 * is used (root in the host); otherwise the host's netns is (or may be) foreign.
 */
export function sysfsNeedsBind(ns: NamespaceFacts): boolean {
  if (ns.creates('network')) return false;
  if (ns.joins('network')) return ns.has('user');
  return true;
}

export interface MountContext {
  bundle: string;
  /** the rootfs' host path: a destination beneath it is taken relative to it, as runc does */
  rootfs?: string;
  ns: NamespaceFacts;
  isDirectory: (hostPath: string) => boolean;
}

/** runc (LexicallyStripRoot): "<rootfs>/mnt/x" as a destination means "/mnt/x". */
function stripRootfs(destination: string, rootfs: string | undefined): string {
  if (!rootfs) return destination;
  const root = cleanContainerPath(rootfs);
  return root !== '/' && destination.startsWith(root + '/') ? destination.slice(root.length) : destination;
}

/** Plan one spec mount. `index` names it in errors. */
export function planMount(m: Mount, index: number, ctx: MountContext): PlannedMount {
  const f = `mounts[${index}]`;
  if (typeof m.destination !== 'string' || m.destination === '') {
    throw new TsociError(`${f}.destination: must not be empty`);
  }
  for (const k of ['destination', 'source', 'type'] as const) {
    if (hasNul(m[k])) throw new TsociError(`${f}.${k}: contains a null byte`);
  }
  const destination = stripRootfs(cleanContainerPath(m.destination), ctx.rootfs);
  const opts = parseMountOptions(m.options, `${f}.options`);
  const type = m.type ?? '';
  const isBind = type === 'bind' || (opts.flags & MS_BIND) !== 0;

  if (isBind) {
    const rawSource = m.source ?? '';
    if (rawSource === '') throw new TsociError(`${f}.source: a bind mount needs a source`);
    const source = path.resolve(ctx.bundle, rawSource);
    const planned: PlannedMount = {
      source,
      destination,
      type: 'bind',
      flags: MS_BIND | (opts.flags & MS_REC),
      data: opts.data.join(','),
      // rro/rnosuid/… are in remountFlags for the top mount; mount-ext.ts adds them as
      // recursiveAttrs (mount_setattr AT_RECURSIVE) for the submounts of an rbind.
      remountFlags: opts.flags & ~BIND_ONLY,
      propagationFlags: opts.propagation,
      createAs: ctx.isDirectory(source) ? 'dir' : 'file',
    };
    // runc: a clearing option alone (rw, dev, suid, exec...) also makes a remount, which
    // sets exactly the requested flags ("mount --bind -o" semantics)
    const cleared = opts.clearedFlags & ~BIND_ONLY;
    if (cleared) planned.clearedFlags = cleared;
    return planned;
  }

  if (type === 'sysfs' && sysfsNeedsBind(ctx.ns)) {
    // like crun: without its own network namespace a container cannot mount sysfs;
    // it gets the host's /sys, recursively and read-only
    return {
      source: '/sys',
      destination,
      type: 'bind',
      flags: MS_BIND | MS_REC,
      data: '',
      remountFlags: (opts.flags & ~BIND_ONLY) | MS_RDONLY,
      propagationFlags: opts.propagation,
      createAs: 'dir',
      replaces: 'sysfs', // still only on an ordinary directory
    };
  }

  // "cgroup" mounts are passed through as they are for now (the cgroups module expands them).
  const planned: PlannedMount = {
    source: m.source ?? '',
    destination,
    type,
    flags: opts.flags,
    data: opts.data.join(','),
    remountFlags: 0,
    propagationFlags: opts.propagation,
    createAs: 'dir',
  };
  // like runc, tmpcopyup means something for a tmpfs only, and is ignored elsewhere
  if (opts.tmpcopyup && type === 'tmpfs') planned.tmpcopyup = true;
  return planned;
}

/** Every spec mount in order. */
export function planMounts(mounts: readonly Mount[] | undefined, opts: PlanOptions, ns: NamespaceFacts, rootfs?: string): PlannedMount[] {
  const ctx: MountContext = { bundle: opts.bundle, rootfs, ns, isDirectory: opts.isDirectory ?? (() => true) };
  return (mounts ?? []).map((m, i) => planMount(m, i, ctx));
}
