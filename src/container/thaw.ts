import { isFrozen, thawCgroups, type CgroupPaths } from '../cgroups';

/**
 * After a SIGKILL: a process in a frozen cgroup (v1 freezer) acts on it only once thawed,
 * so a paused container is thawed, as runc does; other signals leave it paused.
 */
export function thawAfterKill(paths: CgroupPaths | undefined, signal = 9): void {
  if (signal !== 9 || !paths || Object.keys(paths).length === 0) return;
  try {
    if (isFrozen(paths)) thawCgroups(paths);
  } catch {
    /* the cgroup may be going away */
  }
}
