import * as fs from 'fs';
import { native, errnoName } from '../native';
import { killCgroup, type CgroupPaths } from '../cgroups';
import { liveStatus, openContainer } from '../state/store';
import { TsociError } from '../util/errors';
import type { GlobalOptions } from './options';
import { thawAfterKill } from './thaw';
import { pidsOf } from './ps';

const SIGKILL = 9;

/** The container's cgroup is still there (it may hold processes its init left behind). */
function cgroupExists(paths: CgroupPaths | undefined): paths is CgroupPaths {
  return !!paths && Object.values(paths).some((dir) => !!dir && fs.existsSync(dir));
}

/**
 * `kill`: signal the init. Like runc: SIGKILL to a container without a PID namespace of
 * its own (the host's, or another container's) kills every process in its cgroup, since
 * the kernel does not take them with the init, also once the init is gone. With --all,
 * every process in the cgroup (or, without one, in the init's pid namespace) gets the
 * signal, and a stopped container is no error.
 */
export function kill(opts: GlobalOptions & { id: string; signal: number; all?: boolean }): void {
  const { cdir, state } = openContainer(opts.root, opts.id);
  const status = liveStatus(cdir, state);
  if (opts.signal === SIGKILL && !state.ownPidNamespace && cgroupExists(state.cgroupPaths)) {
    killCgroup(state.cgroupPaths, SIGKILL);
    thawAfterKill(state.cgroupPaths, SIGKILL);
    return;
  }
  const running = status === 'created' || status === 'running' || status === 'paused';
  // a stopped init's pid may have been reused: only its cgroup still says who is left
  if (opts.all && (running || cgroupExists(state.cgroupPaths))) {
    for (const pid of pidsOf(running ? state : { ...state, pid: 0 })) {
      const rc = native().pidfdKill(pid, opts.signal);
      if (rc !== 0 && errnoName(rc) !== 'ESRCH') throw new TsociError(`kill ${pid}: ${errnoName(rc)}`);
    }
    thawAfterKill(state.cgroupPaths, opts.signal);
    return;
  }
  if (!running) {
    if (opts.all) return; // runc: --all makes a stopped container no error
    throw new TsociError('container not running');
  }
  const rc = native().pidfdKill(state.pid, opts.signal);
  if (rc !== 0) {
    if (errnoName(rc) === 'ESRCH' && opts.all) return;
    throw new TsociError(errnoName(rc) === 'ESRCH' ? 'container not running' : `kill ${state.pid}: ${errnoName(rc)}`);
  }
  thawAfterKill(state.cgroupPaths, opts.signal);
}
