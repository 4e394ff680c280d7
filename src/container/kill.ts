import { native, errnoName } from '../native';
import { liveStatus, openContainer } from '../state/store';
import { TsociError } from '../util/errors';
import type { GlobalOptions } from './options';
import { thawAfterKill } from './thaw';
import { pidsOf } from './ps';

/** `kill`: signal the init (or with --all every process in the container's cgroup, or pid namespace without one). */
export function kill(opts: GlobalOptions & { id: string; signal: number; all?: boolean }): void {
  const { cdir, state } = openContainer(opts.root, opts.id);
  const status = liveStatus(cdir, state);
  if (status !== 'created' && status !== 'running' && status !== 'paused') {
    throw new TsociError('container not running');
  }
  if (opts.all) {
    for (const pid of pidsOf(state)) {
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
