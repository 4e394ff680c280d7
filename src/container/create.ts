import * as fs from 'fs';
import * as path from 'path';
import { loadSpec } from '../spec/load';
import type { Spec } from '../spec/types';
import { planLaunch } from '../plan/plan';
import type { LaunchPlan } from '../plan/launch-plan';
import { planCgroupMounts, type CgroupPaths } from '../cgroups';
import { native, errnoName } from '../native';
import type { ContainerDir, StoredState } from '../state/store';
import { checkId } from '../state/paths';
import { readProcStat } from '../state/proc';
import { TsociError, sysError } from '../util/errors';
import { faultPoint } from '../util/fault';
import { launch, type Launched } from '../launch/launch';
import { hostLsmFacts } from '../host/host-lsm';
import { claimContainer, makeOrRemove, cgroupRequestFor, makeCgroups, enterNewCgroups, writeSpecCopy, runCreateHooks, holdBackPidsLimit, setHeldBackPidsLimit } from './new-container';
import { checkNetDevices, moveNetDevices } from '../netdev/netdevices';
import { checkIntelRdt, setupIntelRdt } from '../intelrdt/intelrdt';
import { sendPidfd } from '../fds/pidfd-socket';
import type { CreateOptions } from './options';
import { addListenEnv, listenFdCount } from '../fds/listen-fds';
import { checkPassedFds } from '../fds/caller-fds';
import { prepareSeccomp } from '../seccomp';
import { trace } from '../util/trace';
import { checkRootlessEuidConfig } from '../rootless/validate';
import { writeErr } from '../util/out';
import { ambientCapabilityWarnings } from '../plan/ambient';
import { unknownCapabilityWarning } from '../plan/capabilities';
import { debugLogTarget, logWarning } from '../util/log';

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
  checkRootlessEuidConfig(spec, process.geteuid?.() ?? 0);
  // said once the container exists (runc's init says it while setting up): a create that
  // fails keeps its one error line
  const ambientWarnings = ambientCapabilityWarnings(spec.process);
  const capsWarning = unknownCapabilityWarning(spec.process.capabilities);
  const listenFds = listenFdCount();
  checkPassedFds(listenFds, opts.preserveFds ?? 0);
  const container = claimContainer(opts.root, opts.id, bundle, spec);
  const { cdir, state } = container;
  return makeOrRemove(container, spec, async (progress) => {
    faultPoint('create:claimed');
    const { request: cgroupRequest, pidsLimit } = holdBackPidsLimit(cgroupRequestFor(opts.id, spec, opts));
    const cgroups = makeCgroups(container, cgroupRequest);
    faultPoint('create:cgroups');
    trace('cgroups');
    // The resources are written and the plan built while tsoci-init starts and is moved into
    // the cgroups in the background; it gets the plan (and may fork) once both are done.
    const buildPlan = (): LaunchPlan => {
      cgroups.applyResources(); // while the init's move into them waits for the kernel
      writeSpecCopy(container, spec);
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
      const debugLog = debugLogTarget();
      if (debugLog) plan.debugLog = debugLog;
      if (pidsLimit !== undefined) plan.pauseForHooks = true; // where the pids limit is set
      plan.seccomp = prepareSeccomp(spec, { root: opts.root, id: opts.id, bundle, mode: 'create' });
      expandCgroupMounts(plan, spec, cgroups.paths);
      trace('planned');
      return plan;
    };
    const launched = await launch({ preserveFds: (opts.preserveFds ?? 0) + listenFds, wait, build: buildPlan }, {
      // stage0 joins before it forks: everything in the container starts inside its cgroups
      onSpawned: (stage0) => enterNewCgroups(container, cgroupRequest, cgroups.paths, stage0).then(() => faultPoint('create:spawned')),
      onPid: (pid) => {
        state.pid = pid;
        cdir.write(state);
        moveNetDevices(spec, pid); // the container's network namespace exists now
        setupIntelRdt(spec, opts.id, pid, cdir.dir);
        faultPoint('create:pid');
      },
      onHooks: async (pid) => {
        if (pidsLimit !== undefined) setHeldBackPidsLimit(state, pidsLimit);
        faultPoint('create:hooks');
        progress.hooksReached = true;
        await runCreateHooks(spec, state, pid);
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
    if (opts.pidfdSocket) sendPidfd(opts.pidfdSocket, launched.pid);
    if (capsWarning) logWarning(capsWarning);
    for (const w of ambientWarnings) writeErr(`warning: ${w}\n`);
    trace('created');
    return { cdir, state, spec, launched };
  });
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
