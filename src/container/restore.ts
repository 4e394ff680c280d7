import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadSpec } from '../spec/load';
import type { Spec } from '../spec/types';
import { createCgroups, enterCgroups, plannedCgroupPaths } from '../cgroups';
import { native } from '../native';
import { ContainerDir, type StoredState } from '../state/store';
import { checkId } from '../state/paths';
import { readProcStat } from '../state/proc';
import { TsociError, sysError } from '../util/errors';
import { Criu, checkCgroupsMode, emptyNsMask, type CriuFlags } from '../criu';
import { stdioInheritFds } from '../criu/images';
import { runHooks } from './hooks';
import { destroy } from './destroy';
import { deleteContainer } from './delete';
import { writePidFile } from './create';
import { poststopAfterFailedCreate } from './start-hooks';
import { FORWARDED_SIGNALS as FORWARDED, signalNumber as osSignal } from './signals';
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
  const cdir = new ContainerDir(opts.root, opts.id);
  cdir.claim();
  const state: StoredState = {
    ociVersion: spec.ociVersion,
    id: opts.id,
    phase: 'creating',
    pid: 0,
    bundle,
    rootfs: path.resolve(bundle, spec.root?.path ?? 'rootfs'),
    created: new Date().toISOString(),
    owner: os.userInfo().username,
    annotations: spec.annotations as Record<string, string> | undefined,
    ownPidNamespace: (spec.linux?.namespaces ?? []).some((n) => n.type === 'pid' && !n.path),
  };
  let hooksReached = false;
  try {
    cdir.lock();
    const cgroupRequest = { id: opts.id, cgroupsPath: spec.linux?.cgroupsPath, resources: spec.linux?.resources, systemd: !!opts.systemdCgroup, rootless: !!opts.rootless };
    state.cgroupPaths = plannedCgroupPaths(cgroupRequest);
    cdir.write(state);
    try {
      state.cgroupPaths = createCgroups(cgroupRequest);
    } catch (err) {
      state.cgroupPaths = undefined;
      throw err;
    }
    writeSpecCopy(cdir, spec);
    state.hasSpecCopy = true;
    cdir.write(state);
    const hookState = (status: string, pid: number) => ({ ociVersion: spec.ociVersion, id: opts.id, status, pid, bundle, annotations: spec.annotations ?? {} });
    await withRestoreRoot(opts.root, state.rootfs, (root) =>
      criu.restore(
        { ...opts, imagePath, root, spec, rootfs: state.rootfs, cgroupPaths: state.cgroupPaths ?? {}, stdio: ['inherit', 'inherit', 'inherit'] },
        {
          onSpawned: (criuPid) =>
            enterCgroups(cgroupRequest, state.cgroupPaths ?? {}, criuPid, (unit) => {
              state.systemdUnit = unit;
              if (!unit) delete state.cgroupPaths;
              cdir.write(state);
            }),
          onNamespaces: async (pid) => {
            hooksReached = true;
            await runHooks('prestart', spec.hooks?.prestart, hookState('creating', pid));
            await runHooks('createRuntime', spec.hooks?.createRuntime, hookState('creating', pid));
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
  } catch (err) {
    await destroy(cdir, state);
    if (hooksReached) await poststopAfterFailedCreate(spec, state);
    throw err;
  } finally {
    cdir.release();
  }
  const forward = (sig: NodeJS.Signals) => native().pidfdKill(state.pid, osSignal(sig));
  if (!opts.detach) for (const sig of FORWARDED) process.on(sig, forward);
  try {
    await runHooks('poststart', spec.hooks?.poststart, { ...hookStateOf(state, spec), status: 'running' });
  } catch (err) {
    await deleteContainer({ ...opts, force: true });
    throw err;
  }
  if (opts.detach) return 0;
  const exit = await native().waitChild(state.pid);
  for (const sig of FORWARDED) process.off(sig, forward);
  await deleteContainer({ ...opts, force: true });
  if ('errno' in exit) return 1;
  return exit.signal ? 128 + exit.signal : exit.code ?? 1;
}

function hookStateOf(state: StoredState, spec: Spec) {
  return { ociVersion: spec.ociVersion, id: state.id, pid: state.pid, bundle: state.bundle, annotations: spec.annotations ?? {} };
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

function writeSpecCopy(cdir: ContainerDir, spec: Spec): void {
  try {
    fs.writeFileSync(cdir.specPath, JSON.stringify(spec), { mode: 0o600 });
  } catch (err) {
    throw sysError('write', cdir.specPath, err);
  }
}
