import * as fs from 'fs';
import * as path from 'path';
import { liveStatus, openContainer } from '../state/store';
import { checkId } from '../state/paths';
import type { Spec } from '../spec/types';
import { TsociError, sysError } from '../util/errors';
import { Criu, checkCgroupsMode, emptyNsMask, type CriuFlags } from '../criu';
import { deleteContainer } from './delete';
import type { GlobalOptions } from './options';

export interface CheckpointOptions extends GlobalOptions, CriuFlags {
  id: string;
  criu?: string;
  /** default ./checkpoint, like runc */
  imagePath?: string;
  parentPath?: string;
  leaveRunning?: boolean;
  preDump?: boolean;
  statusFd?: number;
}

/**
 * `checkpoint`: CRIU dumps the running container into the image directory. Unless
 * --leave-running or --pre-dump, the container is then destroyed (runc does the same: its
 * process is gone, `state` says it does not exist) and `restore` brings it back.
 */
export async function checkpoint(opts: CheckpointOptions): Promise<void> {
  checkId(opts.id);
  checkCgroupsMode(opts.manageCgroupsMode);
  emptyNsMask(opts.emptyNs);
  const { cdir, state } = openContainer(opts.root, opts.id);
  const imagePath = path.resolve(opts.imagePath || 'checkpoint');
  checkParentPath(imagePath, opts.parentPath);
  const criu = await Criu.open(opts.criu);
  cdir.lock();
  try {
    const status = liveStatus(cdir, state);
    if (status === 'created' || status === 'stopped' || status === 'creating') {
      throw new TsociError(`Container cannot be checkpointed in ${status} state`);
    }
    const spec = readSpec(cdir.specPath);
    try {
      fs.mkdirSync(imagePath, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw sysError('checkpoint: create image directory', imagePath, err);
    }
    await criu.dump({
      ...opts,
      imagePath,
      spec,
      rootfs: state.rootfs,
      cgroupPaths: state.cgroupPaths ?? {},
      pid: state.pid,
    });
  } finally {
    cdir.release();
  }
  if (!opts.leaveRunning && !opts.preDump) await deleteContainer({ ...opts, force: true });
}

/** runc's rules: relative to the image directory, and an existing directory. */
function checkParentPath(imagePath: string, parent: string | undefined): void {
  if (!parent) return;
  if (path.isAbsolute(parent)) throw new TsociError('--parent-path must be relative');
  const real = path.join(imagePath, parent);
  let st: fs.Stats;
  try {
    st = fs.statSync(real);
  } catch (err) {
    throw sysError('invalid --parent-path: stat', real, err);
  }
  if (!st.isDirectory()) throw new TsociError(`invalid --parent-path: ${real}: not a directory`);
}

function readSpec(file: string): Spec {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Spec;
  } catch (err) {
    throw sysError('checkpoint: read the container\'s config', file, err);
  }
}
