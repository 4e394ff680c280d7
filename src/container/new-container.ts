import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Spec } from '../spec/types';
import { enterCgroups, makeCgroupDirs, plannedCgroupPaths, updateCgroups, type CgroupPaths, type CgroupRequest, type MadeDirs } from '../cgroups';
import { ContainerDir, type StoredState } from '../state/store';
import { sysError } from '../util/errors';
import { runHooks } from './hooks';
import { destroy } from './destroy';
import { hookState, poststopAfterFailedCreate } from './start-hooks';

/*
 * What `create` and `restore` share: both make a new container (state directory, cgroups,
 * spec copy, prestart/createRuntime hooks) and remove all of it when making it fails. They
 * differ only in how its process comes to be (tsoci-init starts it, CRIU brings it back).
 */

export interface NewContainer {
  cdir: ContainerDir;
  state: StoredState;
}

/** Claims the id (its state directory) and the state the container starts with. */
export function claimContainer(root: string, id: string, bundle: string, spec: Spec): NewContainer {
  const cdir = new ContainerDir(root, id);
  cdir.claim();
  const state: StoredState = {
    ociVersion: spec.ociVersion,
    id,
    phase: 'creating',
    pid: 0,
    bundle,
    rootfs: path.resolve(bundle, spec.root?.path ?? 'rootfs'),
    created: new Date().toISOString(),
    owner: os.userInfo().username,
    annotations: spec.annotations as Record<string, string> | undefined,
    ownPidNamespace: (spec.linux?.namespaces ?? []).some((n) => n.type === 'pid' && !n.path),
  };
  return { cdir, state };
}

/** How far making the container got: after a failed hook or later, poststop runs too. */
export interface Progress {
  hooksReached: boolean;
}

/**
 * Runs `make` with the claimed container locked. When it fails, everything made is removed
 * (destroy) and, once the create hooks were reached, the poststop hooks run (runtime-spec
 * lifecycle steps 12 and 13) before the error goes on.
 */
export async function makeOrRemove<T>({ cdir, state }: NewContainer, spec: Spec, make: (progress: Progress) => Promise<T>): Promise<T> {
  const progress: Progress = { hooksReached: false };
  try {
    cdir.lock();
    return await make(progress);
  } catch (err) {
    await destroy(cdir, state);
    if (progress.hooksReached) await poststopAfterFailedCreate(spec, state);
    throw err;
  } finally {
    cdir.release();
  }
}

export function cgroupRequestFor(id: string, spec: Spec, opts: { systemdCgroup?: boolean; rootless?: boolean }): CgroupRequest {
  return {
    id,
    cgroupsPath: spec.linux?.cgroupsPath,
    resources: spec.linux?.resources,
    systemd: !!opts.systemdCgroup,
    rootless: !!opts.rootless,
  };
}

/**
 * The request the cgroups are made with, and the pids limit held back until the container's
 * process is the one left to count: runc sets the resources at that point (its procHooks), so
 * a limit below what the set-up itself forks (pids.limit 0 means 1) does not stop tsoci-init.
 * Rootless requests keep it (a controller they may not write fails before anything runs), and
 * so does the systemd driver, which starts the scope with TasksMax among its properties.
 */
export function holdBackPidsLimit(request: CgroupRequest): { request: CgroupRequest; pidsLimit?: number } {
  const limit = request.resources?.pids?.limit;
  if (request.rootless || request.systemd || limit === undefined || limit === null) return { request };
  const { pids: _pids, ...rest } = request.resources!;
  return { request: { ...request, resources: rest }, pidsLimit: limit };
}

/** Sets the held-back pids limit in the cgroup files. */
export function setHeldBackPidsLimit(state: StoredState, limit: number): void {
  if (state.cgroupPaths) updateCgroups(state.cgroupPaths, { pids: { limit } });
}

/**
 * Makes the container's cgroup directories and records them in its state; the caller writes
 * the resources (applyResources) before the container's processes start, while its init
 * joins. Once recorded, a failure leaves their removal to the container's cleanup (as runc's
 * Destroy after a failed Set: an empty pre-existing directory goes too).
 */
export function makeCgroups({ cdir, state }: NewContainer, request: CgroupRequest): Pick<MadeDirs, 'paths' | 'applyResources'> {
  // recorded before they exist: a create killed while making them leaves nothing to delete
  state.cgroupPaths = plannedCgroupPaths(request);
  cdir.write(state);
  let made: MadeDirs;
  try {
    made = makeCgroupDirs(request);
  } catch (err) {
    state.cgroupPaths = undefined; // it removed what it made; a pre-existing cgroup is not ours to clean
    throw err;
  }
  state.cgroupPaths = made.paths;
  return made;
}

/** Puts `pid` into the cgroups (systemd driver: its scope, recorded before systemd may create it). */
export function enterNewCgroups({ cdir, state }: NewContainer, request: CgroupRequest, paths: CgroupPaths, pid: number): Promise<void> {
  return enterCgroups(request, paths, pid, (unit) => {
    state.systemdUnit = unit; // recorded before systemd may create it: delete stops it
    if (!unit) delete state.cgroupPaths; // systemd refused or was not reached: not ours
    cdir.write(state);
  });
}

/** The spec copy later verbs read (poststart, poststop hooks, exec's defaults). */
export function writeSpecCopy({ cdir, state }: NewContainer, spec: Spec): void {
  try {
    fs.writeFileSync(cdir.specPath, JSON.stringify(spec), { mode: 0o600 });
  } catch (err) {
    throw sysError('write', cdir.specPath, err);
  }
  state.hasSpecCopy = true;
}

/** prestart and createRuntime, once the container's namespaces exist (`pid`: its process). */
export async function runCreateHooks(spec: Spec, state: StoredState, pid: number): Promise<void> {
  const creating = { ...hookState(state, 'creating'), pid };
  await runHooks('prestart', spec.hooks?.prestart, creating);
  await runHooks('createRuntime', spec.hooks?.createRuntime, creating);
}
