/**
 * Linux security modules (issue 3): process.apparmorProfile, process.selinuxLabel and
 * linux.mountLabel. Pure: whether the host has AppArmor / SELinux arrives through
 * PlanOptions (src/host/host-lsm.ts finds out).
 *
 * Behaviour on a host without the LSM, decided before anything is created:
 *  - apparmorProfile: an error. runc fails later, inside its init, with
 *    "unable to apply apparmor profile: apparmor failed to apply profile: write
 *    /proc/self/attr/exec: invalid argument" (observed with runc 1.1.5 here).
 *  - selinuxLabel: an error with runc's message (its config validator, create and exec).
 *  - mountLabel: ignored, as runc's label.FormatMountLabel does without SELinux.
 */
import type { Process } from '../spec/types';
import type { PlannedMount, PlannedProcess } from './launch-plan';
import { TsociError } from '../util/errors';

export interface LsmHostFacts {
  /** AppArmor is enabled (/sys/module/apparmor/parameters/enabled is "Y") */
  hostHasAppArmor?: boolean;
  /** SELinux is enabled (selinuxfs mounted at /sys/fs/selinux) */
  hostHasSELinux?: boolean;
}

function checkLabel(v: string, field: string): string {
  if (typeof v !== 'string') throw new TsociError(`${field}: must be a string`);
  if (v.includes('\0') || v.includes('\n')) throw new TsociError(`${field}: must not contain a null byte or a newline`);
  return v;
}

/** Copies the process's LSM labels into the plan, or refuses them when the host lacks the LSM. */
export function planProcessLsm(p: Process, out: PlannedProcess, host: LsmHostFacts, field = 'process'): void {
  if (p.apparmorProfile) {
    const profile = checkLabel(p.apparmorProfile, `${field}.apparmorProfile`);
    if (!host.hostHasAppArmor) {
      throw new TsociError(`${field}.apparmorProfile: apparmor profile ${JSON.stringify(profile)} specified but AppArmor is not enabled on this system`);
    }
    out.apparmorProfile = profile;
  }
  if (p.selinuxLabel) {
    const label = checkLabel(p.selinuxLabel, `${field}.selinuxLabel`);
    if (!host.hostHasSELinux) throw new TsociError('selinux label is specified in config, but selinux is disabled or not supported');
    out.selinuxLabel = label;
  }
}

/** Mount types runc mounts without the mount label (binds are relabelled, not mounted with context=). */
const UNLABELLED_TYPES = new Set(['bind', 'proc', 'sysfs', 'mqueue', 'cgroup', 'cgroup2']);

/**
 * With SELinux, linux.mountLabel becomes `context="<label>"` in the data of the
 * filesystems the runtime mounts (tmpfs, devpts, …). Without SELinux: nothing.
 */
export function applyMountLabel(mounts: PlannedMount[], mountLabel: string | undefined, host: LsmHostFacts): void {
  if (!mountLabel || !host.hostHasSELinux) return;
  const label = checkLabel(mountLabel, 'linux.mountLabel');
  if (label.includes('"')) throw new TsociError('linux.mountLabel: must not contain a double quote');
  for (const m of mounts) {
    if (UNLABELLED_TYPES.has(m.type) || (m.flags & 0x1000) !== 0 /* MS_BIND */) continue;
    const ctx = `context="${label}"`;
    m.data = m.data ? `${m.data},${ctx}` : ctx;
  }
}
