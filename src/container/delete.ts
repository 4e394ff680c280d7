import * as fs from 'fs';
import { ContainerDir, liveStatus, sweepStaleRemovals, type StoredState } from '../state/store';
import { checkId } from '../state/paths';
import type { Spec } from '../spec/types';
import { TsociError } from '../util/errors';
import { destroy } from './destroy';
import { runHooksWarn } from './hooks';
import type { GlobalOptions } from './options';
import { writeErr } from '../util/out';

/**
 * `delete`: remove a stopped (or created) container; with --force also a running one.
 * `delete --force` of an unknown id succeeds (podman and containerd send it after failures).
 */
export async function deleteContainer(opts: GlobalOptions & { id: string; force?: boolean }): Promise<void> {
  checkId(opts.id);
  const cdir = new ContainerDir(opts.root, opts.id);
  if (!fs.existsSync(cdir.dir)) {
    // what callers send after a failure: also the moment to clear a removal that was killed
    if (opts.force) return sweepStaleRemovals(opts.root);
    throw new TsociError(`container "${opts.id}" does not exist`);
  }
  let state: StoredState | undefined;
  try {
    state = cdir.read();
  } catch (err) {
    // a directory without state: a create killed before it wrote anything (or one still
    // starting, holding the lock: looked at again below, once we hold it)
    if (!opts.force && !(err instanceof TsociError && err.code === 'ENOENT')) throw err;
  }
  if (state) refuseUnlessStopped(cdir, state, opts);
  if (!(await lockIfPresent(cdir))) {
    if (opts.force) return;
    throw new TsociError(`container "${opts.id}" does not exist`);
  }
  try {
    // what was read before the lock may be stale: a create still running when we looked
    // (destroying that snapshot left its init and cgroups behind) or a concurrent start
    try {
      state = cdir.read();
    } catch (err) {
      if (!(err instanceof TsociError && err.code === 'ENOENT')) throw err;
      cdir.remove();
      return;
    }
    refuseUnlessStopped(cdir, state, opts);
    const spec = readSpecCopy(cdir);
    await destroy(cdir, state);
    const hookState = { ociVersion: state.ociVersion, id: state.id, status: 'stopped', pid: state.pid, bundle: state.bundle, annotations: state.annotations ?? {} };
    // the spec: a failing poststop hook is logged as a warning, the others still run, delete succeeds
    await runHooksWarn('poststop', spec?.hooks?.poststop, hookState, (m) => writeErr(`warning: ${m}\n`));
  } finally {
    cdir.release();
  }
}

function refuseUnlessStopped(cdir: ContainerDir, state: StoredState, opts: { id: string; force?: boolean }): void {
  const status = liveStatus(cdir, state);
  if ((status === 'running' || status === 'paused' || status === 'creating') && !opts.force) {
    throw new TsociError(`cannot delete container ${opts.id} that is not stopped: ${status}`);
  }
}

/**
 * Takes the lock; false when the directory is gone meanwhile (a concurrent delete). Waits on
 * the event loop: a foreground run deletes its container with its signal handlers installed.
 */
async function lockIfPresent(cdir: ContainerDir): Promise<boolean> {
  try {
    await cdir.lockAsync();
    if (fs.existsSync(cdir.dir)) return true;
    cdir.release();
    return false;
  } catch (err) {
    if (err instanceof TsociError && err.code === 'ENOENT') return false;
    throw err;
  }
}

function readSpecCopy(cdir: ContainerDir): Spec | undefined {
  try {
    return JSON.parse(fs.readFileSync(cdir.specPath, 'utf8')) as Spec;
  } catch {
    return undefined;
  }
}
