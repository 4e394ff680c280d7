import * as fs from 'fs';
import type { Process, Spec } from '../spec/types';
import { planLaunch } from '../plan/plan';
import type { LaunchPlan } from '../plan/launch-plan';
import { native } from '../native';
import { joinCgroupsInBackground } from '../cgroups';
import { liveStatus, openContainer } from '../state/store';
import { TsociError } from '../util/errors';
import { launch } from '../launch/launch';
import { sendPidfd } from '../fds/pidfd-socket';
import { execCgroupDirs, parseSubCgroups } from './exec-cgroups';
import { writePidFile } from './create';
import { SignalForwarder } from '../util/forwarded-signals';
import type { GlobalOptions } from './options';
import { ConsoleRelay, openForegroundConsole } from '../console/console';
import { hostLsmFacts } from '../host/host-lsm';
import { prepareSeccomp } from '../seccomp';
import { checkPassedFds } from '../fds/caller-fds';
import { unknownCapabilityWarning } from '../plan/capabilities';
import { debugLogTarget, logWarning } from '../util/log';

export interface ExecOptions extends GlobalOptions {
  id: string;
  process: Process;
  detach?: boolean;
  pidFile?: string;
  consoleSocket?: string;
  pidfdSocket?: string;
  preserveFds?: number;
  ignorePaused?: boolean;
  /** --cgroup values (see exec-cgroups.ts) */
  subCgroups?: string[];
}

/**
 * `exec`: run another process in a running container: it joins every namespace of the
 * container's init and its cgroups, with credentials applied as for the init. Detached
 * it returns once the process runs (pid in --pid-file); in the foreground it forwards
 * signals and returns the process's exit status (128+signal when killed).
 */
export async function exec(opts: ExecOptions): Promise<number> {
  const { cdir, state } = openContainer(opts.root, opts.id);
  const status = liveStatus(cdir, state);
  if (status === 'paused' && !opts.ignorePaused) throw new TsociError('cannot exec in a paused container (use --ignore-paused to override)');
  if (status !== 'running' && status !== 'created' && status !== 'paused') throw new TsociError(`cannot exec in a ${status} container`);
  const spec = JSON.parse(fs.readFileSync(cdir.specPath, 'utf8')) as Spec;
  checkPassedFds(0, opts.preserveFds ?? 0);
  const cgroupDirs = state.cgroupPaths && execCgroupDirs(state.cgroupPaths, parseSubCgroups(opts.subCgroups ?? []));
  // a terminal in the foreground without --console-socket: tsoci is the console itself
  const fgConsole = openForegroundConsole(!opts.detach && !opts.consoleSocket && opts.process.terminal === true);
  // Built while tsoci-init starts and joins the container's cgroups (the kernel's RCU wait of
  // the move, 5-16 ms on cgroup v1): the init gets it, and may fork, once both are done.
  const buildPlan = (): LaunchPlan => {
    const plan = planLaunch(spec, {
      bundle: state.bundle,
      mode: 'exec',
      wait: opts.detach ? 'detach' : 'foreground',
      process: opts.process,
      execTargetPid: state.pid,
      consoleSocket: fgConsole?.path ?? opts.consoleSocket,
      preserveFds: opts.preserveFds ?? 0,
      noPivot: false,
      ...hostLsmFacts({ apparmor: !!opts.process.apparmorProfile, selinux: !!opts.process.selinuxLabel }),
    });
    const debugLog = debugLogTarget();
    if (debugLog) plan.debugLog = debugLog;
    // the process may write at once: the pty must not map NL to CR NL before it runs
    if (fgConsole) plan.consoleClearOnlcr = true;
    // runc: an exec'd process gets the container's seccomp profile
    plan.seccomp = prepareSeccomp(spec, { root: opts.root, id: opts.id, bundle: state.bundle, mode: 'exec', initPid: state.pid, annotations: state.annotations });
    return plan;
  };
  // Forwarding is in place before the process exists (as runc's signal handler is): the
  // process may run and be signalled through us before launch() returns; until its pid is
  // known, signals wait here.
  const forwarder = opts.detach ? undefined : new SignalForwarder();
  try {
    const launched = await launch({ preserveFds: opts.preserveFds ?? 0, wait: opts.detach ? 'detach' : 'foreground', build: buildPlan }, {
      onSpawned: (stage0) =>
        cgroupDirs &&
        joinCgroupsInBackground(cgroupDirs, stage0).catch((err: unknown) => {
          throw new TsociError(`error adding pid ${stage0} to cgroups: ${(err as Error).message}`, (err as TsociError).code);
        }),
    });
    let relay: ConsoleRelay | undefined;
    try {
      if (fgConsole) relay = new ConsoleRelay(fgConsole.receive());
    } catch (err) {
      native().pidfdKill(launched.pid, 9);
      await launched.exited;
      throw err;
    }
    try {
      if (opts.pidFile) writePidFile(opts.pidFile, launched.pid);
      if (opts.pidfdSocket) sendPidfd(opts.pidfdSocket, launched.pid);
    } catch (err) {
      // runc: the exec failed; the process it started does not outlive that
      relay?.stop();
      native().pidfdKill(launched.pid, 9);
      await launched.exited;
      throw err;
    }
    // said once the process exists: an exec that fails keeps its one error line
    const capsWarning = unknownCapabilityWarning(opts.process.capabilities);
    if (capsWarning) logWarning(capsWarning);
    if (!forwarder) return 0;
    forwarder.target(launched.pid);
    const { code, signal } = await launched.exited;
    await relay?.finish();
    return signal ? 128 + signal : code ?? 1;
  } finally {
    forwarder?.stop();
  }
}
