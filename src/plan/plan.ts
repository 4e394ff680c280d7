/**
 * planLaunch: validated spec + CLI options → LaunchPlan. Pure: no file system, no process
 * state; every host fact arrives through PlanOptions.
 */
import * as path from 'path';
import type { Process, Spec } from '../spec/types';
import { PLAN_VERSION, type LaunchPlan } from './launch-plan';
import type { PlanOptions } from './options';
import { TsociError } from '../util/errors';
import { execNamespaces, namespaceFacts, planNamespaces } from './namespaces';
import { planMounts } from './mounts';
import { mountsDev, planDevices, planSymlinks } from './devices';
import { planProcess } from './process';
import { addProcessExtras } from './extras';
import { MS_PRIVATE, MS_REC, MS_SLAVE, propagationFlag } from './mount-options';
import { cleanContainerPath } from './paths';
import { planContainerHooks } from './hooks';
import { addMountExtensions } from './mount-ext';
import { planMemoryPolicy } from './mempolicy';
import { hostMountRecordPath } from './host-mounts';

/** Default propagation of "/" before the rootfs is set up. */
export const DEFAULT_ROOTFS_PROPAGATION = MS_SLAVE | MS_REC;

/** Hooks that make tsoci-init stop before pivot_root and wait for the runtime. */
const PAUSING_HOOKS = ['prestart', 'createRuntime', 'createContainer', 'startContainer'] as const;

export function hasPausingHooks(spec: Spec): boolean {
  const hooks = spec.hooks;
  if (!hooks) return false;
  return PAUSING_HOOKS.some((k) => (hooks[k]?.length ?? 0) > 0);
}

function checkOptions(opts: PlanOptions): void {
  if (typeof opts.bundle !== 'string' || !path.isAbsolute(opts.bundle)) {
    throw new TsociError(`bundle: must be an absolute path (got ${JSON.stringify(opts.bundle)})`);
  }
  if (!Number.isInteger(opts.preserveFds) || opts.preserveFds < 0) {
    throw new TsociError(`preserve-fds: must be a non-negative integer (got ${JSON.stringify(opts.preserveFds)})`);
  }
}

function checkTerminal(terminal: boolean, opts: PlanOptions): void {
  if (terminal && opts.wait === 'detach' && !opts.consoleSocket) {
    throw new TsociError('cannot allocate tty if tsoci will detach without setting console socket');
  }
  if (!terminal && opts.consoleSocket) {
    throw new TsociError('cannot use console socket if the process does not allocate a tty (process.terminal is false)');
  }
}

function rootfsOf(spec: Spec, opts: PlanOptions, required: boolean): string {
  const p = spec.root?.path;
  if (p === undefined || p === '') {
    if (required) throw new TsociError('root.path: must be set');
    return '';
  }
  return path.resolve(opts.bundle, p);
}

/** Without a mount namespace the propagation is not applied (the host's "/" is not ours to change, like crun). */
function rootfsPropagation(spec: Spec, opts: PlanOptions, ownMountNs: boolean): number {
  const name = spec.linux?.rootfsPropagation as string | undefined;
  if (name === undefined || name === '') return DEFAULT_ROOTFS_PROPAGATION;
  const flag = propagationFlag(name);
  if (flag === undefined) throw new TsociError(`linux.rootfsPropagation: ${JSON.stringify(name)} is not supported`);
  if (ownMountNs && opts.noPivot && (flag & MS_PRIVATE) !== 0) {
    throw new TsociError('linux.rootfsPropagation: [r]private is not safe without pivot_root');
  }
  return flag;
}

/** Cleaned, each path once (runc masks a path listed twice once). */
function cleanPathList(list: readonly string[] | undefined, field: string): string[] {
  const cleaned = (list ?? []).map((p, i) => {
    if (typeof p !== 'string' || !p.startsWith('/')) {
      throw new TsociError(`${field}[${i}]: must be an absolute path (got ${JSON.stringify(p)})`);
    }
    if (p.includes('\0')) throw new TsociError(`${field}[${i}]: contains a null byte`);
    return cleanContainerPath(p);
  });
  return [...new Set(cleaned)];
}

/** Plan a new container (create mode), or an exec when opts.mode is 'exec' (see planExec). */
export function planLaunch(spec: Spec, opts: PlanOptions): LaunchPlan {
  if (opts.mode === 'exec') return planExec(spec, opts.process ?? spec.process, opts);
  if (opts.mode !== 'create') throw new TsociError(`mode: unknown mode ${JSON.stringify(opts.mode)}`);
  checkOptions(opts);

  const nsPart = planNamespaces(spec, opts);
  const ns = namespaceFacts(nsPart.namespaces);
  const mounts = planMounts(spec.mounts, opts, ns, rootfsOf(spec, opts, false));
  const joinedUserNs = nsPart.namespaces.find((n) => n.type === 'user')?.path;
  addMountExtensions(mounts, spec, { userNs: ns.creates('user'), uidMappings: nsPart.uidMappings, gidMappings: nsPart.gidMappings, joinedUserNs });
  const devMounted = mountsDev(mounts);

  const maskedPaths = cleanPathList(spec.linux?.maskedPaths, 'linux.maskedPaths');
  const readonlyPaths = cleanPathList(spec.linux?.readonlyPaths, 'linux.readonlyPaths');
  if ((maskedPaths.length > 0 || readonlyPaths.length > 0) && !ns.has('mount')) {
    throw new TsociError('linux.maskedPaths: unable to restrict sys entries without a private MNT namespace');
  }
  // (runc skips it silently; making the rootfs read-only would change a mount of the host)
  if (spec.root?.readonly === true && !ns.has('mount')) {
    throw new TsociError('root.readonly: unable to make the rootfs read-only without a private MNT namespace');
  }

  const proc = planProcess(spec.process, { field: 'process' });
  checkTerminal(proc.terminal, opts);

  const plan: LaunchPlan = {
    version: PLAN_VERSION,
    mode: 'create',
    wait: opts.wait,
    ...nsPart,
    rootfs: rootfsOf(spec, opts, true),
    rootfsReadonly: spec.root?.readonly === true,
    rootfsPropagation: rootfsPropagation(spec, opts, ns.has('mount')),
    noPivot: opts.noPivot,
    mounts,
    devices: planDevices({ specDevices: spec.linux?.devices, devMounted, userNs: ns.has('user') }),
    symlinks: planSymlinks(devMounted, opts.hostHasKcore),
    maskedPaths,
    readonlyPaths,
    sysctl: { ...(spec.linux?.sysctl ?? {}) },
    process: proc,
    preserveFds: opts.preserveFds,
    pauseForHooks: hasPausingHooks(spec),
  };
  if (opts.execFifo !== undefined) plan.execFifo = opts.execFifo;
  if (!ns.has('mount')) plan.hostMountRecord = hostMountRecordPath(opts.execFifo);
  if (opts.consoleSocket !== undefined) plan.consoleSocket = opts.consoleSocket;
  const containerHooks = planContainerHooks(spec, opts.containerId, opts.bundle);
  if (containerHooks) plan.containerHooks = containerHooks;
  const memoryPolicy = planMemoryPolicy(spec.linux?.memoryPolicy);
  if (memoryPolicy) plan.memoryPolicy = memoryPolicy;
  addProcessExtras(plan, spec.process as Process, spec, opts);
  return plan;
}

/**
 * Plan `tsoci exec`: run `process` in the namespaces of the running container whose init
 * is opts.execTargetPid. Nothing of the rootfs is set up again: no mounts, devices, maps.
 */
export function planExec(spec: Spec, process: Process | undefined, opts: PlanOptions): LaunchPlan {
  checkOptions(opts);
  if (opts.execTargetPid === undefined) throw new TsociError('execTargetPid: required in exec mode');
  const proc = planProcess(process, { field: 'process', defaultCwd: true });
  checkTerminal(proc.terminal, opts);
  const plan: LaunchPlan = {
    version: PLAN_VERSION,
    mode: 'exec',
    wait: opts.wait,
    namespaces: execNamespaces(spec, opts.execTargetPid),
    uidMappings: [],
    gidMappings: [],
    setgroupsDeny: false,
    timeOffsets: [],
    rootfs: rootfsOf(spec, opts, false),
    rootfsReadonly: spec.root?.readonly === true,
    rootfsPropagation: DEFAULT_ROOTFS_PROPAGATION,
    noPivot: opts.noPivot,
    mounts: [],
    devices: [],
    symlinks: [],
    maskedPaths: [],
    readonlyPaths: [],
    sysctl: {},
    process: proc,
    preserveFds: opts.preserveFds,
    execTargetPid: opts.execTargetPid,
    pauseForHooks: false,
  };
  if (opts.consoleSocket !== undefined) plan.consoleSocket = opts.consoleSocket;
  // like runc: an exec'd process gets the container's memory policy too (memorypolicy.bats)
  const memoryPolicy = planMemoryPolicy(spec.linux?.memoryPolicy);
  if (memoryPolicy) plan.memoryPolicy = memoryPolicy;
  addProcessExtras(plan, process as Process, spec, opts);
  return plan;
}
