/**
 * Rootless cgroups (runc's rules, opencontainers/cgroups fs/fs.go and fs2/fs2.go): without
 * --cgroupsPath, a hierarchy the user may not write is skipped (its directory could not be
 * made or joined) and the container runs without it; a limit that needed it is an error.
 * Device rules are skipped, not fatal. An explicit cgroupsPath is never skipped. A cgroup v2
 * subtree delegated to the user (it owns the directory, cgroup.procs and
 * cgroup.subtree_control) is simply writable: the container's cgroup is made there and its
 * limits applied as for root.
 */
import type { LinuxResources } from '../spec/types';
import { TsociError } from '../util/errors';
import { rdmaLines } from './resources-v1';

const PERMISSION = new Set(['EACCES', 'EPERM', 'EROFS']);

/** A permission error a rootless create may skip (runc's isIgnorableError, and only with no cgroupsPath). */
export function skippable(opts: { rootless: boolean; explicitPath: boolean }, err: unknown): err is TsociError {
  return opts.rootless && !opts.explicitPath && err instanceof TsociError && PERMISSION.has(err.code ?? '');
}

/** The limits the resources ask for, by name; devices are not limits (rootless skips them). */
export function limitsAsked(r: LinuxResources | undefined): string[] {
  if (!r) return [];
  const asked: string[] = [];
  const set = (v: unknown) => v !== undefined && v !== null;
  if (r.pids && set(r.pids.limit)) asked.push('pids');
  const m = r.memory;
  if (m && (m.limit || m.reservation || m.swap || m.disableOOMKiller || m.useHierarchy || (set(m.swappiness) && m.swappiness !== -1))) asked.push('memory');
  const c = r.cpu;
  if (c && (c.shares || c.quota || c.period || c.cpus || c.mems || c.realtimePeriod || c.realtimeRuntime || set(c.burst) || set(c.idle))) asked.push('cpu');
  const b = r.blockIO;
  if (b && (b.weight || b.leafWeight || b.weightDevice?.length || b.throttleReadBpsDevice?.length || b.throttleWriteBpsDevice?.length ||
    b.throttleReadIOPSDevice?.length || b.throttleWriteIOPSDevice?.length)) asked.push('blockIO');
  if (r.hugepageLimits?.length) asked.push('hugepageLimits');
  if (r.rdma && rdmaLines(r.rdma).length > 0) asked.push('rdma');
  if (r.network && ((r.network.classID ?? 0) !== 0 || r.network.priorities?.length)) asked.push('network');
  if (r.unified && Object.keys(r.unified).length > 0) asked.push('unified');
  return asked;
}

/** The error for limits asked of a cgroup a rootless container could not make or join. */
export function rootlessLimitError(what: string, cause: TsociError): TsociError {
  return new TsociError(`cgroup: cannot set ${what}: rootless container could not join or create its cgroup (${cause.message.replace(/^cgroup: /, '')}); drop the limits or delegate a cgroup v2 subtree to the user`, cause.code);
}
