import { freezeCgroups, thawCgroups } from '../cgroups';
import { liveStatus, openContainer } from '../state/store';
import { checkId } from '../state/paths';
import { TsociError } from '../util/errors';
import type { GlobalOptions } from './options';

/**
 * `pause`: freeze every process of a created or running container (v1 freezer.state,
 * v2 cgroup.freeze). The status becomes "paused" because state reads the freezer.
 */
export function pause(opts: GlobalOptions & { id: string }): void {
  checkId(opts.id);
  const { cdir, state } = openContainer(opts.root, opts.id);
  cdir.lock();
  try {
    const status = liveStatus(cdir, state);
    if (status !== 'running' && status !== 'created') throw new TsociError('container not running');
    if (!state.cgroupPaths || Object.keys(state.cgroupPaths).length === 0) {
      throw new TsociError('cgroup: cannot pause: the container has no cgroup');
    }
    freezeCgroups(state.cgroupPaths);
  } finally {
    cdir.release();
  }
}

/** `resume`: thaw a paused container. */
export function resume(opts: GlobalOptions & { id: string }): void {
  checkId(opts.id);
  const { cdir, state } = openContainer(opts.root, opts.id);
  cdir.lock();
  try {
    // a paused created container goes back to created
    if (liveStatus(cdir, state) !== 'paused') throw new TsociError('container not paused');
    thawCgroups(state.cgroupPaths!);
  } finally {
    cdir.release();
  }
}
