/**
 * systemd cgroup driver (--systemd-cgroup), as runc does it: the container's cgroup is a
 * transient scope unit "<prefix>-<name>.scope" in the slice of cgroupsPath
 * "slice:prefix:name" (paths.ts), created over D-Bus by systemd, then also set up through
 * the cgroup files like the cgroupfs driver.
 *
 * Create, in order:
 *  1. createCgroups (before tsoci-init is spawned) only validates and computes the
 *     directories: nothing exists yet, and the plan needs the paths for "cgroup" mounts.
 *  2. enterCgroups (stage0 spawned and blocked reading its plan, as it is for the cgroupfs
 *     join): StartTransientUnit with PIDs=[stage0] and the resource properties, wait for
 *     the job; stage0 is then in every hierarchy systemd manages. The unit name goes into
 *     state.json just before the call, so a failure or a crash from then on is cleaned up;
 *     onUnit(undefined) when systemd was not reached or refused the call (e.g. "UnitExists":
 *     another container's unit): neither the unit nor its directories are ours to remove.
 *  3. the hierarchies systemd does not manage on v1 (cpuset, freezer, net_cls, …) are
 *     created, every resource is written to the files, and stage0 joins every directory
 *     (never name=systemd, which is systemd's) — only then does it get its plan and fork.
 * Delete: kill, StopUnit (wait for the job), then remove the directories that are left.
 * Update: SetUnitProperties (runtime), then the files.
 *
 * The D-Bus client (dbus-next) is a separate bundle, loaded only here (systemd-dbus.ts).
 * systemd counts as running when /run/systemd/system is a directory (sd_booted, runc's
 * check). TSOCI_SYSTEMD_ASSUME_RUNNING=1 skips that check: for tests only, on hosts without
 * systemd, against a fake systemd on a private bus (DBUS_SYSTEM_BUS_ADDRESS). A set
 * DBUS_SYSTEM_BUS_ADDRESS alone is not taken as "systemd runs": it is set on hosts without
 * systemd too, and those must keep getting the clear "systemd is not running" error.
 */
import * as path from 'path';
import type { LinuxResources } from '../spec/types';
import { TsociError } from '../util/errors';
import { writeErr } from '../util/out';
import { cgWrite } from './files';
import type { CgroupHost } from './mode';
import { CgroupPaths, parseSystemdCgroupsPath, systemdPaths } from './paths';
import { applyResourcesV1 } from './resources-v1';
import { applyResourcesV2 } from './resources-v2';
import { cpusetCopyIfEmpty, mkdirChain, mountPointOf, orderedKeys } from './v1';

export const SYSTEMD_NOT_RUNNING = 'systemd cgroup driver: systemd is not running (no /run/systemd/system)';

/** What createCgroups / enterCgroups receive (a subset of CgroupRequest). */
export interface SystemdRequest {
  id: string;
  cgroupsPath?: string;
  resources?: LinuxResources;
  rootless: boolean;
}

type Driver = typeof import('./systemd-dbus');
let driver: Driver | undefined;
/** dist/systemd-dbus.js in the bundle; src/cgroups/systemd-dbus.ts under ts-jest. */
function loadDriver(): Driver {
  return (driver ??= require(path.join(__dirname, 'systemd-dbus')) as Driver);
}

/** Errors from the other bundle keep their message and become ours. */
async function viaDriver<T>(fn: (d: Driver) => Promise<T>): Promise<T> {
  try {
    return await fn(loadDriver());
  } catch (err) {
    if (err instanceof TsociError) throw err;
    const msg = (err as Error)?.message ?? String(err);
    throw new TsociError(msg.startsWith('systemd cgroup driver') ? msg : `systemd cgroup driver: ${msg}`, (err as TsociError).code);
  }
}

export function systemdRunning(host: CgroupHost): boolean {
  return host.systemdRunning || process.env.TSOCI_SYSTEMD_ASSUME_RUNNING === '1';
}

/** Step 1: checks and directories; creates nothing. */
export function createSystemd(host: CgroupHost, req: SystemdRequest): CgroupPaths {
  if (!systemdRunning(host)) throw new TsociError(SYSTEMD_NOT_RUNNING);
  if (req.rootless) {
    throw new TsociError('systemd cgroup driver: rootless containers would need the user\'s systemd instance, which tsoci does not support (omit --systemd-cgroup)');
  }
  if (host.mode !== 'v2' && req.resources?.unified && Object.keys(req.resources.unified).length > 0) {
    throw new TsociError('cgroup: invalid configuration: cannot use unified on cgroup v1');
  }
  if (host.mode === 'none') throw new TsociError('cgroup: no cgroup filesystem is mounted (checked /proc/self/mountinfo)');
  return systemdPaths(host, req.cgroupsPath, req.id);
}

/** Steps 2 and 3 for `pid` (stage0, blocked until its plan comes). */
export async function startSystemdScope(host: CgroupHost, req: SystemdRequest, paths: CgroupPaths, pid: number, onUnit: (unit: string | undefined) => void): Promise<void> {
  const u = parseSystemdCgroupsPath(req.cgroupsPath, req.id);
  let recorded = false;
  const record = (unit: string | undefined) => {
    recorded = !!unit;
    onUnit(unit);
  };
  let started: Awaited<ReturnType<Driver['startScope']>>;
  try {
    started = await viaDriver((d) =>
      d.startScope({ unit: u.unit, slice: u.slice, description: `tsoci container ${req.id}`, pid, v2: host.mode === 'v2', resources: req.resources, onUnit: record }),
    );
  } catch (err) {
    if (!recorded) onUnit(undefined); // never asked, or refused: the directories are not ours either
    throw err;
  }
  for (const w of started.warnings) writeErr(`warning: systemd cgroup driver: ${w}\n`);
  const dirs: string[] = [];
  for (const key of orderedKeys(paths)) {
    const dir = paths[key];
    if (key === 'name=systemd' || dirs.includes(dir)) continue;
    const mp = mountPointOf(host, key);
    if (!mp) throw new TsociError(`cgroup: no mount point for the ${key || 'unified'} hierarchy`);
    const cpuset = host.v1.some((h) => h.mountPoint === mp && h.controllers.includes('cpuset'));
    mkdirChain(mp, dir, [], cpuset ? cpusetCopyIfEmpty : undefined);
    dirs.push(dir);
  }
  if (host.mode === 'v2') applyResourcesV2(paths[''], started.resources);
  else applyResourcesV1(paths, started.resources);
  for (const dir of dirs) cgWrite(dir, 'cgroup.procs', String(pid));
}

/** StopUnit; a failure is reported as a warning (the directories are removed anyway). */
export async function stopSystemdScope(unit: string): Promise<void> {
  try {
    await viaDriver((d) => d.stopScope(unit));
  } catch (err) {
    writeErr(`warning: ${(err as Error).message}\n`);
  }
}

/** SetUnitProperties; returns the resources for the files (the CPU quota as systemd applies it). */
export async function updateSystemdScope(host: CgroupHost, unit: string, resources: LinuxResources): Promise<LinuxResources> {
  const updated = await viaDriver((d) => d.updateScope(unit, resources, host.mode === 'v2'));
  for (const w of updated.warnings) writeErr(`warning: systemd cgroup driver: ${w}\n`);
  return updated.resources ?? resources;
}
