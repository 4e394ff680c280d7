/**
 * systemd cgroup driver (--systemd-cgroup). The cgroup belongs to a transient scope unit that
 * systemd creates over D-Bus (org.freedesktop.systemd1.Manager.StartTransientUnit with
 * Slice=, Delegate=yes, PIDs=[pid], *Accounting=yes, then the resource properties), and the
 * directories are <mount point>/<expanded slice>/<prefix>-<name>.scope.
 *
 * What is done: the cgroupsPath rules ("slice:prefix:name", slice expansion, unit names) and
 * the directory layout (paths.ts), and the "systemd is not running" check.
 * TODO (issue 4): the D-Bus call needs a D-Bus client library (or a small native one in the
 * addon); until then createCgroups with systemd:true fails with a clear error even when
 * systemd runs. Once the scope exists, join/kill/freeze/update/remove work on the directories
 * like the cgroupfs driver (updates should also go through SetUnitProperties).
 * These hosts have no systemd as PID 1, so only the path logic is unit-tested.
 */
import { TsociError } from '../util/errors';
import type { CgroupHost } from './mode';
import { CgroupPaths, systemdPaths } from './paths';

export const SYSTEMD_NOT_RUNNING = 'systemd cgroup driver: systemd is not running (no /run/systemd/system)';

export function createSystemd(host: CgroupHost, cgroupsPath: string | undefined, id: string): CgroupPaths {
  if (!host.systemdRunning) throw new TsociError(SYSTEMD_NOT_RUNNING);
  const paths = systemdPaths(host, cgroupsPath, id); // validates cgroupsPath
  void paths;
  throw new TsociError(
    'systemd cgroup driver: creating the transient scope over D-Bus is not implemented yet (use the cgroupfs driver: omit --systemd-cgroup)',
  );
}
