import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadSpec } from '../spec/load';
import type { Spec } from '../spec/types';
import { planLaunch } from '../plan/plan';
import type { LaunchPlan } from '../plan/launch-plan';
import { createCgroups, enterCgroups, plannedCgroupPaths, planCgroupMounts, type CgroupPaths } from '../cgroups';
import { native, errnoName } from '../native';
import { ContainerDir, type StoredState } from '../state/store';
import { checkId } from '../state/paths';
import { readProcStat } from '../state/proc';
import { TsociError, sysError } from '../util/errors';
import { faultPoint } from '../util/fault';
import { launch, type Launched } from './launch';
import { runHooks } from './hooks';
import { destroy } from './destroy';
import { hostLsmFacts } from './host-lsm';
import { poststopAfterFailedCreate } from './start-hooks';
import { checkNetDevices, moveNetDevices } from './netdevices';
import { checkIntelRdt, setupIntelRdt } from './intelrdt';
import type { CreateOptions } from './options';
import { addListenEnv, listenFdCount } from './listen-fds';
import { prepareSeccomp } from '../seccomp';
import { trace } from '../util/trace';
import { writeErr } from '../util/out';
import { ambientCapabilityWarnings } from '../plan/ambient';

export interface Created {
  cdir: ContainerDir;
  state: StoredState;
  spec: Spec;
  launched: Launched;
}

/**
 * `create`: validate, claim the id, launch tsoci-init and return once the container
 * process is set up and blocked on the exec fifo. Any failure removes everything made.
 */
export async function create(opts: CreateOptions, wait: 'detach' | 'foreground' = 'detach'): Promise<Created> {
  trace('create');
  checkId(opts.id);
  const bundle = path.resolve(opts.bundle);
  const spec = loadSpec(bundle);
  if (!spec.process) throw new TsociError('invalid config.json: process: must be set to create a container');
  checkNetDevices(spec);
  checkIntelRdt(spec);
  for (const w of ambientCapabilityWarnings(spec.process)) writeErr(`warning: ${w}\n`);
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
  let hooksReached = false; // a failure from here on is a failed hook or later: poststop runs
  try {
    cdir.lock();
    faultPoint('create:claimed');
    const cgroupRequest = {
      id: opts.id,
      cgroupsPath: spec.linux?.cgroupsPath,
      resources: spec.linux?.resources,
      systemd: !!opts.systemdCgroup,
      rootless: !!opts.rootless,
    };
    // recorded before they exist: a create killed while making them leaves nothing to delete
    state.cgroupPaths = plannedCgroupPaths(cgroupRequest);
    cdir.write(state);
    try {
      state.cgroupPaths = createCgroups(cgroupRequest);
    } catch (err) {
      state.cgroupPaths = undefined; // it removed what it made; a pre-existing cgroup is not ours to clean
      throw err;
    }
    faultPoint('create:cgroups');
    trace('cgroups');
    const cgroups = state.cgroupPaths;
    const listenFds = listenFdCount();
    // The plan is built while tsoci-init starts and is moved into the cgroups in the background.
    const buildPlan = (): LaunchPlan => {
      writeSpecCopy(cdir, spec);
      state.hasSpecCopy = true;
      makeFifo(cdir.fifoPath);
      const plan = planLaunch(spec, {
        bundle,
        containerId: opts.id,
        mode: 'create',
        wait,
        execFifo: cdir.fifoPath,
        consoleSocket: opts.consoleSocket ? path.resolve(opts.consoleSocket) : undefined,
        preserveFds: (opts.preserveFds ?? 0) + listenFds,
        noPivot: !!opts.noPivot,
        rootless: !!opts.rootless,
        isDirectory: isDirectoryOnHost,
        ...hostLsmFacts({ apparmor: !!spec.process?.apparmorProfile, selinux: !!spec.process?.selinuxLabel || !!spec.linux?.mountLabel }),
      });
      addListenEnv(plan, listenFds);
      plan.seccomp = prepareSeccomp(spec, { root: opts.root, id: opts.id, bundle, mode: 'create' });
      expandCgroupMounts(plan, spec, cgroups);
      trace('planned');
      return plan;
    };
    const launched = await launch({ preserveFds: (opts.preserveFds ?? 0) + listenFds, wait, build: buildPlan }, {
      // stage0 joins before it forks: everything in the container starts inside its cgroups
      onSpawned: (stage0) =>
        enterCgroups(cgroupRequest, cgroups, stage0, (unit) => {
          state.systemdUnit = unit; // recorded before systemd may create it: delete stops it
          if (!unit) delete state.cgroupPaths; // systemd refused or was not reached: not ours
          cdir.write(state);
        }).then(() => faultPoint('create:spawned')),
      onPid: (pid) => {
        state.pid = pid;
        cdir.write(state);
        moveNetDevices(spec, pid); // the container's network namespace exists now
        setupIntelRdt(spec, opts.id, pid, cdir.dir);
        faultPoint('create:pid');
      },
      onHooks: async (pid) => {
        faultPoint('create:hooks');
        hooksReached = true;
        const hookState = { ociVersion: spec.ociVersion, id: opts.id, status: 'creating', pid, bundle, annotations: spec.annotations ?? {} };
        await runHooks('prestart', spec.hooks?.prestart, hookState);
        await runHooks('createRuntime', spec.hooks?.createRuntime, hookState);
      },
    });
    trace('launched');
    state.pid = launched.pid;
    state.initStartTime = readProcStat(launched.pid)?.startTime;
    state.phase = 'created';
    faultPoint('create:final-state');
    cdir.write(state);
    faultPoint('create:pid-file');
    if (opts.pidFile) writePidFile(opts.pidFile, launched.pid);
    trace('created');
    return { cdir, state, spec, launched };
  } catch (err) {
    await destroy(cdir, state);
    if (hooksReached) await poststopAfterFailedCreate(spec, state);
    throw err;
  } finally {
    cdir.release();
  }
}

/** A `cgroup` mount becomes what the host's hierarchy needs (v1: tmpfs + a bind per controller). */
function expandCgroupMounts(plan: LaunchPlan, spec: Spec, paths: CgroupPaths): void {
  const hasCgroupNs = (spec.linux?.namespaces ?? []).some((n) => n.type === 'cgroup');
  const expanded: LaunchPlan['mounts'] = [];
  for (const m of plan.mounts) {
    if (m.type !== 'cgroup') {
      expanded.push(m);
      continue;
    }
    const options = spec.mounts?.find((sm) => sm.type === 'cgroup' && path.posix.resolve('/', sm.destination) === m.destination)?.options ?? [];
    const { mounts, symlinks } = planCgroupMounts(m.destination, options, paths, hasCgroupNs);
    expanded.push(...mounts);
    plan.symlinks.push(...symlinks);
  }
  plan.mounts = expanded;
}

function writeSpecCopy(cdir: ContainerDir, spec: Spec): void {
  try {
    fs.writeFileSync(cdir.specPath, JSON.stringify(spec), { mode: 0o600 });
  } catch (err) {
    throw sysError('write', cdir.specPath, err);
  }
}

function makeFifo(fifo: string): void {
  const rc = native().mkfifo(fifo, 0o622);
  if (rc !== 0) throw new TsociError(`create exec fifo ${fifo}: ${errnoName(rc)}`);
  // mkfifo applies the umask; the init may be another uid (user namespace, process.user)
  fs.chmodSync(fifo, 0o622);
}

function isDirectoryOnHost(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return true;
  }
}

/** Written atomically like runc: a reader (conmon, containerd) never sees a partial pid. */
export function writePidFile(file: string, pid: number): void {
  const abs = path.resolve(file);
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.tsoci-tmp`);
  try {
    fs.writeFileSync(tmp, String(pid));
    fs.renameSync(tmp, abs);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw sysError('write pid file', abs, err);
  }
}
