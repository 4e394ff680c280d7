import { native, errnoName } from '../native';
import { cgroupPids } from '../cgroups';
import { liveStatus, openContainer } from '../state/store';
import { TsociError } from '../util/errors';
import type { GlobalOptions } from './options';
import { thawAfterKill } from './thaw';

/** `kill`: signal the init (or with --all every process in the container's cgroup). */
export function kill(opts: GlobalOptions & { id: string; signal: number; all?: boolean }): void {
  const { cdir, state } = openContainer(opts.root, opts.id);
  const status = liveStatus(cdir, state);
  if (status !== 'created' && status !== 'running' && status !== 'paused') {
    // runc >= 1.2: --all (obsolete) on a stopped container is not an error
    if (opts.all) return;
    throw new TsociError('container not running');
  }
  if (opts.all && state.cgroupPaths) {
    for (const pid of cgroupPids(state.cgroupPaths)) {
      const rc = native().pidfdKill(pid, opts.signal);
      if (rc !== 0 && errnoName(rc) !== 'ESRCH') throw new TsociError(`kill ${pid}: ${errnoName(rc)}`);
    }
    thawAfterKill(state.cgroupPaths, opts.signal);
    return;
  }
  const rc = native().pidfdKill(state.pid, opts.signal);
  if (rc !== 0) {
    throw new TsociError(errnoName(rc) === 'ESRCH' ? 'container not running' : `kill ${state.pid}: ${errnoName(rc)}`);
  }
  thawAfterKill(state.cgroupPaths, opts.signal);
}
