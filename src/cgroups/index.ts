/**
 * Cgroups: one interface over the v1 (cgroupfs), v2 (cgroupfs) and systemd drivers.
 * The lifecycle code stores the CgroupPaths returned by createCgroups in state.json and
 * passes them back to every later operation; only createCgroups (and planCgroupMounts)
 * look at the host's mounts.
 *
 * See paths.ts for the cgroupsPath rules, resources-v1.ts / resources-v2.ts for the file
 * mapping and what is tolerated, mounts.ts for the "cgroup" mount expansion.
 */
import type { LinuxResources } from '../spec/types';
import { TsociError } from '../util/errors';
import { CgroupHost, cgroupHost } from './mode';
import { CgroupPaths, cgroupfsPaths } from './paths';
import { createSystemd, startSystemdScope } from './systemd';
import { cgroupPids, isFrozen, joinCgroupsInBackground } from './manage';
import { makeV1Dirs, nothingMade, type MadeDirs } from './v1';
import { makeV2Dirs } from './v2';
import { limitsAsked } from './rootless';

export type { CgroupPaths } from './paths';
export type { MadeDirs } from './v1';
export type { CgroupHost, CgroupMode } from './mode';
export { detectCgroupHost, cgroupHost, parseMountinfo, parseProcCgroup } from './mode';
export { joinCgroups, joinCgroupsInBackground, cgroupPids, killCgroup, removeCgroups, freezeCgroups, thawCgroups, isFrozen, updateCgroups } from './manage';
export { cgroupStats, cgroupStatsJSON } from './stats';
export { planCgroupMounts } from './mounts';
export { sharesToWeight, swapToV2, blkioWeightToIoWeight } from './resources-v2';
export { pidsMaxValue } from './resources-v1';
export { SYSTEMD_NOT_RUNNING, stopSystemdScope, updateSystemdScope } from './systemd';

export interface CgroupRequest {
  id: string;
  cgroupsPath?: string;
  resources?: LinuxResources;
  systemd: boolean;
  rootless: boolean;
}

/**
 * Creates the cgroup directories (systemd driver: only checks and computes them; the scope
 * is created by enterCgroups) (v1: one per hierarchy, plus the unified directory on
 * hybrid hosts so the process also joins v2) and applies resources. Throws TsociError
 * naming the file and errno text when a value cannot be applied; on failure removes the
 * directories it created (never pre-existing ones).
 * `host` is for tests (default: this host, detected once).
 */
export function createCgroups(req: CgroupRequest, host: CgroupHost = cgroupHost()): CgroupPaths {
  const made = makeCgroupDirs(req, host);
  try {
    made.applyResources();
  } catch (err) {
    made.rollback();
    throw err;
  }
  return made.paths;
}

/**
 * createCgroups without the resources, which the caller writes with applyResources: create
 * writes them while its init's move into the directories waits for the kernel (on cgroup v1,
 * an RCU grace period of 5-30 ms, see joinCgroupsInBackground), before the init may fork.
 */
export function makeCgroupDirs(req: CgroupRequest, host: CgroupHost = cgroupHost()): MadeDirs {
  if (req.systemd) return nothingMade(createSystemd(host, req)); // the scope is made with its resources
  const opts = { rootless: req.rootless, explicitPath: !!req.cgroupsPath };
  switch (host.mode) {
    case 'v2':
    case 'v1':
    case 'hybrid': {
      const paths = cgroupfsPaths(host, req.cgroupsPath, req.id);
      refuseBusyCgroup(paths);
      return host.mode === 'v2' ? makeV2Dirs(host, paths, req.resources, opts) : makeV1Dirs(host, paths, req.resources, opts);
    }
    default:
      if (req.rootless && limitsAsked(req.resources).length === 0) return nothingMade({});
      throw new TsociError('cgroup: no cgroup filesystem is mounted (checked /proc/self/mountinfo)');
  }
}

/**
 * runc (≥ 1.2) refuses a cgroup that already holds processes (another container's, or a
 * shell's: its limits and kill/delete would act on them too) and one that is frozen (the
 * container's init would hang in it); before anything is made, so nothing is left behind.
 */
function refuseBusyCgroup(paths: CgroupPaths): void {
  const pids = cgroupPids(paths);
  if (pids.length) throw new TsociError(`container's cgroup is not empty: ${pids.length} process(es) found`);
  if (isFrozen(paths)) throw new TsociError("container's cgroup unexpectedly frozen");
}

/**
 * The directories createCgroups will use, without touching the host: create records them in
 * state.json first, so a create killed while making them still has them removed by delete.
 * Undefined when the request is invalid (createCgroups then reports why).
 */
export function plannedCgroupPaths(req: CgroupRequest, host: CgroupHost = cgroupHost()): CgroupPaths | undefined {
  try {
    // systemd: the directories become ours only once our scope exists (see enterCgroups)
    if (req.systemd) return undefined;
    return host.mode === 'none' ? undefined : cgroupfsPaths(host, req.cgroupsPath, req.id);
  } catch {
    return undefined;
  }
}

/**
 * Puts `pid` (stage0, blocked until it gets its plan) into the container's cgroups: the
 * cgroupfs drivers write cgroup.procs; the systemd driver creates the transient scope with
 * it (systemd.ts), calling onUnit(unit name) just before systemd may create the unit, and
 * onUnit(undefined) if systemd is not reached or refuses: then neither the unit nor the
 * directories are the container's (another container's unit may have that name).
 */
export async function enterCgroups(req: CgroupRequest, paths: CgroupPaths, pid: number, onUnit: (unit: string | undefined) => void, host: CgroupHost = cgroupHost()): Promise<void> {
  if (req.systemd) return startSystemdScope(host, req, paths, pid, onUnit);
  return joinCgroupsInBackground(paths, pid);
}
