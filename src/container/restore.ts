import * as fs from 'fs';
import * as path from 'path';
import { loadSpec } from '../spec/load';
import type { Spec } from '../spec/types';
import { native } from '../native';
import { checkId } from '../state/paths';
import { readProcStat } from '../state/proc';
import { TsociError, sysError } from '../util/errors';
import { Criu, checkCgroupsMode, emptyNsMask, type CriuFlags } from '../criu';
import { stdioInheritFds } from '../criu/images';
import { runHooks } from './hooks';
import { deleteContainer } from './delete';
import { writePidFile } from './create';
import { hookState } from './start-hooks';
import { claimContainer, makeOrRemove, cgroupRequestFor, makeCgroups, enterNewCgroups, writeSpecCopy, runCreateHooks } from './new-container';
import { SignalForwarder } from '../util/forwarded-signals';
import type { GlobalOptions } from './options';

export interface RestoreOptions extends GlobalOptions, CriuFlags {
  id: string;
  bundle: string;
  criu?: string;
  imagePath?: string;
  consoleSocket?: string;
  detach?: boolean;
  pidFile?: string;
  noSubreaper?: boolean;
}

interface CriuAddon {
  bindMount(source: string, target: string): number | { error: string };
  umountDetach(target: string): number;
}

/**
 * `restore`: a new container (any id) from the bundle, whose process CRIU brings back from
 * the image instead of starting it. It gets cgroups, state and hooks like a created and
 * started one (prestart/createRuntime once its namespaces exist, poststart once it runs),
 * and `delete` removes it like any other. In the foreground tsoci waits for it and exits
 * with its status, like `run`.
 */
export async function restore(opts: RestoreOptions): Promise<number> {
  checkId(opts.id);
  checkCgroupsMode(opts.manageCgroupsMode);
  emptyNsMask(opts.emptyNs);
  const bundle = path.resolve(opts.bundle || '.');
  const spec = loadSpec(bundle);
  const imagePath = path.resolve(opts.imagePath || 'checkpoint');
  checkImage(imagePath);
  if (spec.process?.terminal && !opts.consoleSocket) {
    throw new TsociError('restore: process.terminal is set: --console-socket is required');
  }
  const criu = await Criu.open(opts.criu);
  if (!opts.detach && !opts.noSubreaper) native().setChildSubreaper();
  // in the foreground, from before the container exists: a signal caught meanwhile is held for it
  const forwarder = opts.detach ? undefined : new SignalForwarder();
  try {
    return await restoreWith(opts, criu, bundle, spec, imagePath, forwarder);
  } finally {
    forwarder?.stop();
  }
}

async function restoreWith(opts: RestoreOptions, criu: Criu, bundle: string, spec: Spec, imagePath: string, forwarder: SignalForwarder | undefined): Promise<number> {
  const container = claimContainer(opts.root, opts.id, bundle, spec);
  const { cdir, state } = container;
  await makeOrRemove(container, spec, async (progress) => {
    const cgroupRequest = cgroupRequestFor(opts.id, spec, opts);
    const made = makeCgroups(container, cgroupRequest);
    made.applyResources();
    const cgroups = made.paths;
    writeSpecCopy(container, spec);
    cdir.write(state);
    await withRestoreRoot(opts.root, state.rootfs, (root) =>
      criu.restore(
        { ...opts, imagePath, root, spec, rootfs: state.rootfs, cgroupPaths: cgroups, stdio: ['inherit', 'inherit', 'inherit'] },
        {
          onSpawned: (criuPid) => enterNewCgroups(container, cgroupRequest, cgroups, criuPid),
          onNamespaces: async (pid) => {
            progress.hooksReached = true;
            await runCreateHooks(spec, state, pid);
          },
          onRestored: (pid) => {
            // no exec fifo: the container is running as soon as CRIU lets it go
            state.pid = pid;
            state.initStartTime = readProcStat(pid)?.startTime;
            state.phase = 'created';
            state.created = new Date().toISOString();
            cdir.write(state);
          },
        },
      ),
    );
    if (opts.pidFile) writePidFile(opts.pidFile, state.pid);
  });
  forwarder?.target(state.pid);
  try {
    await runHooks('poststart', spec.hooks?.poststart, hookState(state, 'running'));
  } catch (err) {
    await deleteContainer({ ...opts, force: true });
    throw err;
  }
  if (opts.detach) return 0;
  const exit = await native().waitChild(state.pid);
  await deleteContainer({ ...opts, force: true });
  if ('errno' in exit) return 1;
  return exit.signal ? 128 + exit.signal : exit.code ?? 1;
}

/** The image must be there before anything is made (runc fails the same way, later). */
function checkImage(imagePath: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(imagePath);
  } catch (err) {
    throw sysError('restore: image directory', imagePath, err);
  }
  if (!st.isDirectory()) throw new TsociError(`restore: image directory ${imagePath}: not a directory`);
  stdioInheritFds(imagePath);
}

/**
 * CRIU wants a root that is a mount point whose parent is not overmounted: the rootfs is
 * bind-mounted on a directory of its own, outside the state directory (whose removal must
 * never reach into a rootfs), and unmounted again whatever happens.
 */
async function withRestoreRoot<T>(stateRoot: string, rootfs: string, body: (root: string) => Promise<T>): Promise<T> {
  let dir: string;
  try {
    dir = fs.mkdtempSync(path.join(stateRoot, '.criu-root-'));
  } catch (err) {
    throw sysError('restore: create', path.join(stateRoot, '.criu-root-*'), err);
  }
  const addon = native() as unknown as CriuAddon;
  const rc = addon.bindMount(rootfs, dir);
  if (rc !== 0) {
    fs.rmdirSync(dir);
    throw new TsociError(`restore: ${(rc as { error: string }).error}`);
  }
  try {
    return await body(dir);
  } finally {
    addon.umountDetach(dir);
    fs.rmdirSync(dir); // not recursive: a mount still there makes this fail, not delete the rootfs
  }
}
