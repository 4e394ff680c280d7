/**
 * The pure half of seccomp: linux.seccomp → the addon's compile input, the
 * SECCOMP_FILTER_FLAG_* word for the loader and the container-process-state JSON a
 * notify listener receives. No file system, no addon: unit-tested without root.
 *
 * runc facts this follows (libcontainer/specconv SetupSeccomp, seccomp/seccomp_linux.go):
 *  - a profile with an empty defaultAction and no syscalls means "no seccomp";
 *  - `flags` absent → SECCOMP_FILTER_FLAG_SPEC_ALLOW when libseccomp can set it
 *    (API level ≥ 4); `flags: []` → none;
 *  - SCMP_ACT_KILL is KILL_THREAD; ERRNO and TRACE return EPERM unless errnoRet is set;
 *  - an unknown architecture is an error; an unknown syscall name is skipped;
 *  - SCMP_ACT_NOTIFY is refused as defaultAction and for `write` (tsoci also refuses it for
 *    `sendmsg`: tsoci-init sends the listener fd with it right after loading the filter).
 */
import type { LinuxSeccomp as Seccomp, LinuxSeccompAction as SeccompAction } from '../spec/types';
import { TsociError } from '../util/errors';

export const SECCOMP_FILTER_FLAG_TSYNC = 1;
export const SECCOMP_FILTER_FLAG_LOG = 2;
export const SECCOMP_FILTER_FLAG_SPEC_ALLOW = 4;
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 8;
export const SECCOMP_FILTER_FLAG_TSYNC_ESRCH = 16;
export const SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV = 32;

/** The runtime-spec version tsoci implements: ContainerProcessState.ociVersion. */
export const RUNTIME_SPEC_VERSION = '1.3.0';

export const SECCOMP_ACTIONS: readonly SeccompAction[] = [
  'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY',
];
const OPERATORS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'];
const FLAG_BITS: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC,
  SECCOMP_FILTER_FLAG_LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
};
/** Syscalls tsoci-init (or runc) makes after loading the filter and before the listener has the fd. */
const NOTIFY_FORBIDDEN = ['write', 'sendmsg'];

/** What cpp/addon/seccomp.cc compiles: the profile with values as exact 64-bit BigInts. */
export interface SeccompCompileInput {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures: string[];
  syscalls: {
    names: string[];
    action: string;
    errnoRet?: number;
    args: { index: number; value: bigint; valueTwo: bigint; op: string }[];
  }[];
}

/** Facts about the host's libseccomp (addon seccompInfo()). */
export interface SeccompLibInfo {
  available: boolean;
  version: string;
  apiLevel: number;
}

/** runc's "seccomp disabled" rule. */
export function seccompEnabled(profile: Seccomp | undefined): profile is Seccomp {
  if (!profile) return false;
  return !((profile.defaultAction as string) === '' && (profile.syscalls?.length ?? 0) === 0);
}

/**
 * A JSON number for a uint64: exact up to 2^53; beyond that JSON.parse already rounded it,
 * and the only value profiles use up there is 0xFFFFFFFFFFFFFFFF (rounds to 2^64).
 */
export function toUint64(v: unknown, field: string): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'bigint') {
    if (v < 0n || v > 0xffffffffffffffffn) throw new TsociError(`${field}: must be an unsigned 64-bit integer`);
    return v;
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new TsociError(`${field}: must be an unsigned 64-bit integer (got ${JSON.stringify(v)})`);
  if (v >= 2 ** 64) {
    if (v === 2 ** 64) return 0xffffffffffffffffn;
    throw new TsociError(`${field}: ${v} does not fit in 64 bits`);
  }
  return BigInt(v);
}

function checkAction(a: unknown, field: string): string {
  if (typeof a !== 'string' || !SECCOMP_ACTIONS.includes(a as SeccompAction)) {
    throw new TsociError(`${field}: unknown seccomp action ${JSON.stringify(a)} (expected one of ${SECCOMP_ACTIONS.join(', ')})`);
  }
  return a;
}

/** linux.seccomp → compile input; every error names its field. */
export function compileInput(profile: Seccomp): SeccompCompileInput {
  const field = 'linux.seccomp';
  const defaultAction = checkAction(profile.defaultAction, `${field}.defaultAction`);
  if (defaultAction === 'SCMP_ACT_NOTIFY') throw new TsociError(`${field}.defaultAction: SCMP_ACT_NOTIFY cannot be used as default action`);
  const input: SeccompCompileInput = {
    defaultAction,
    architectures: [...(profile.architectures ?? [])],
    syscalls: [],
  };
  if (profile.defaultErrnoRet !== undefined) input.defaultErrnoRet = profile.defaultErrnoRet;
  (profile.syscalls ?? []).forEach((rule, i) => {
    const at = `${field}.syscalls[${i}]`;
    const action = checkAction(rule.action, `${at}.action`);
    if (!Array.isArray(rule.names) || rule.names.length === 0) throw new TsociError(`${at}.names: must list at least one syscall`);
    if (action === 'SCMP_ACT_NOTIFY') {
      const bad = rule.names.find((n) => NOTIFY_FORBIDDEN.includes(n));
      if (bad) throw new TsociError(`${at}: SCMP_ACT_NOTIFY cannot be used for the ${bad} syscall`);
      if (!profile.listenerPath) throw new TsociError(`${at}: SCMP_ACT_NOTIFY needs ${field}.listenerPath`);
    }
    const out: SeccompCompileInput['syscalls'][number] = {
      names: [...rule.names],
      action,
      args: (rule.args ?? []).map((a, j) => {
        const af = `${at}.args[${j}]`;
        if (!Number.isInteger(a.index) || a.index < 0 || a.index > 5) throw new TsociError(`${af}.index: must be an integer from 0 to 5`);
        if (!OPERATORS.includes(a.op)) throw new TsociError(`${af}.op: unknown seccomp operator ${JSON.stringify(a.op)}`);
        return { index: a.index, value: toUint64(a.value, `${af}.value`), valueTwo: toUint64(a.valueTwo, `${af}.valueTwo`), op: a.op };
      }),
    };
    if (rule.errnoRet !== undefined) out.errnoRet = rule.errnoRet;
    input.syscalls.push(out);
  });
  return input;
}

export function usesNotify(profile: Seccomp): boolean {
  return (profile.syscalls ?? []).some((r) => r.action === 'SCMP_ACT_NOTIFY');
}

/** The flags word for seccomp(SECCOMP_SET_MODE_FILTER, flags, …). */
export function filterFlags(profile: Seccomp, lib: Pick<SeccompLibInfo, 'apiLevel'>): number {
  const notify = usesNotify(profile);
  let flags = 0;
  if (profile.flags === undefined) {
    if (lib.apiLevel >= 4) flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  } else {
    for (const [i, name] of profile.flags.entries()) {
      const bit = FLAG_BITS[name];
      if (bit === undefined) throw new TsociError(`linux.seccomp.flags[${i}]: unknown seccomp flag ${JSON.stringify(name)}`);
      // only meaningful (and only accepted by the kernel) together with a listener
      if (bit === SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV && !notify) continue;
      // accepted and ignored, as runc does: tsoci-init is single-threaded when it loads the filter
      if (bit === SECCOMP_FILTER_FLAG_TSYNC) continue;
      flags |= bit;
    }
  }
  if (notify) flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
  return flags;
}

export interface ListenerStateInput {
  id: string;
  bundle: string;
  /** the spec's ociVersion (State.ociVersion) */
  ociVersion: string;
  annotations?: Record<string, string>;
  mode: 'create' | 'exec';
  /** exec: the container's init pid (State.pid) */
  initPid?: number;
  metadata?: string;
}

/**
 * runc's specs.ContainerProcessState. "pid" (and, for a new container, state.pid) are 0
 * here: tsoci-init fills in the real host pid of the process that loaded the filter.
 * runc: a new container's state says "creating"; an exec's says "running" with the init's pid.
 */
export function listenerState(s: ListenerStateInput): string {
  const state: Record<string, unknown> = {
    ociVersion: s.ociVersion,
    id: s.id,
    status: s.mode === 'exec' ? 'running' : 'creating',
    pid: s.mode === 'exec' ? s.initPid ?? 0 : 0,
    bundle: s.bundle,
  };
  if (s.annotations && Object.keys(s.annotations).length > 0) state.annotations = s.annotations;
  const cps: Record<string, unknown> = { ociVersion: RUNTIME_SPEC_VERSION, fds: ['seccompFd'], pid: 0 };
  if (s.metadata) cps.metadata = s.metadata;
  cps.state = state;
  return JSON.stringify(cps);
}

/** Stable text of the compile input (BigInts as decimal strings): the cache key's material. */
export function canonicalInput(input: SeccompCompileInput): string {
  return JSON.stringify(input, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}
