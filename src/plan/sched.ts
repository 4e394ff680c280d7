/**
 * Scheduling and execution domain of the container process (issue 3): spec names →
 * the numbers tsoci-init passes to sched_setattr(2), ioprio_set(2), sched_setaffinity(2)
 * and personality(2). Pure; validation follows runc's (libcontainer/configs/validate).
 */
import type { Process, Spec } from '../spec/types';
import type { PlannedProcess } from './launch-plan';
import { TsociError } from '../util/errors';

/** SCHED_* (include/uapi/linux/sched.h) */
export const SCHED_POLICIES: Readonly<Record<string, number>> = {
  SCHED_OTHER: 0,
  SCHED_FIFO: 1,
  SCHED_RR: 2,
  SCHED_BATCH: 3,
  SCHED_ISO: 4,
  SCHED_IDLE: 5,
  SCHED_DEADLINE: 6,
};

/** SCHED_FLAG_* */
export const SCHED_FLAGS: Readonly<Record<string, number>> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01,
  SCHED_FLAG_RECLAIM: 0x02,
  SCHED_FLAG_DL_OVERRUN: 0x04,
  SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10,
  SCHED_FLAG_UTIL_CLAMP_MIN: 0x20,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};

/** IOPRIO_CLASS_* (include/uapi/linux/ioprio.h) */
export const IOPRIO_CLASSES: Readonly<Record<string, number>> = {
  IOPRIO_CLASS_RT: 1,
  IOPRIO_CLASS_BE: 2,
  IOPRIO_CLASS_IDLE: 3,
};

/** linux.personality.domain (include/uapi/linux/personality.h) */
export const PERSONALITY_DOMAINS: Readonly<Record<string, number>> = {
  LINUX: 0x0000, // PER_LINUX
  LINUX32: 0x0008, // PER_LINUX32
};

/**
 * linux.personality.flags: the spec defines none yet and runc ignores them with a warning;
 * tsoci applies the kernel's flag names and refuses anything else.
 */
export const PERSONALITY_FLAGS: Readonly<Record<string, number>> = {
  UNAME26: 0x0020000,
  ADDR_NO_RANDOMIZE: 0x0040000,
  FDPIC_FUNCPTRS: 0x0080000,
  MMAP_PAGE_ZERO: 0x0100000,
  ADDR_COMPAT_LAYOUT: 0x0200000,
  READ_IMPLIES_EXEC: 0x0400000,
  ADDR_LIMIT_32BIT: 0x0800000,
  SHORT_INODE: 0x1000000,
  WHOLE_SECONDS: 0x2000000,
  STICKY_TIMEOUTS: 0x4000000,
  ADDR_LIMIT_3GB: 0x8000000,
};

/** Highest CPU number accepted in a CPU list (runc's MaxCPU). */
export const MAX_CPU = 64 * 1024;

function lookup(table: Readonly<Record<string, number>>, name: unknown, field: string, what: string): number {
  if (typeof name !== 'string' || !Object.prototype.hasOwnProperty.call(table, name)) {
    throw new TsociError(`${field}: unknown ${what} ${JSON.stringify(name)} (known: ${Object.keys(table).join(', ')})`);
  }
  return table[name];
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new TsociError(`${field}: must be an integer between ${min} and ${max} (got ${JSON.stringify(v)})`);
  }
  return v;
}

export function planScheduler(s: NonNullable<Process['scheduler']>, field: string): NonNullable<PlannedProcess['scheduler']> {
  if (!s.policy) throw new TsociError(`${field}.policy: scheduler policy is required`);
  const policy = lookup(SCHED_POLICIES, s.policy, `${field}.policy`, 'scheduler policy');
  const nice = int(s.nice, `${field}.nice`, -20, 19);
  const priority = int(s.priority, `${field}.priority`, 0, 0x7fffffff);
  if (priority !== 0 && s.policy !== 'SCHED_FIFO' && s.policy !== 'SCHED_RR') {
    throw new TsociError(`${field}.priority: can only be specified for SCHED_FIFO or SCHED_RR policy`);
  }
  const runtime = int(s.runtime, `${field}.runtime`, 0, Number.MAX_SAFE_INTEGER);
  const deadline = int(s.deadline, `${field}.deadline`, 0, Number.MAX_SAFE_INTEGER);
  const period = int(s.period, `${field}.period`, 0, Number.MAX_SAFE_INTEGER);
  if (s.policy !== 'SCHED_DEADLINE' && (runtime || deadline || period)) {
    throw new TsociError(`${field}: runtime/deadline/period can only be specified for SCHED_DEADLINE policy`);
  }
  let flags = 0;
  (s.flags ?? []).forEach((f, i) => {
    flags |= lookup(SCHED_FLAGS, f, `${field}.flags[${i}]`, 'scheduler flag');
  });
  return { policy, nice, priority, flags, runtime, deadline, period };
}

export function planIoPriority(io: NonNullable<Process['ioPriority']>, field: string): NonNullable<PlannedProcess['ioPriority']> {
  const cls = lookup(IOPRIO_CLASSES, io.class, `${field}.class`, 'I/O priority class');
  const priority = int(io.priority, `${field}.priority`, 0, 7);
  return { class: cls, priority };
}

/**
 * Parses a CPU list ("0-3,7", spaces and empty elements allowed like runc) into the CPU
 * numbers; throws a TsociError naming the field for anything malformed.
 */
export function parseCpuList(list: string, field: string): number[] {
  if (typeof list !== 'string') throw new TsociError(`${field}: must be a string`);
  const cpus: number[] = [];
  const num = (t: string, part: string): number => {
    if (!/^\d+$/.test(t)) throw new TsociError(`${field}: invalid CPU list ${JSON.stringify(list)}: bad element ${JSON.stringify(part)}`);
    const n = Number(t);
    if (n > MAX_CPU) throw new TsociError(`${field}: invalid CPU list ${JSON.stringify(list)}: values larger than ${MAX_CPU} are not supported`);
    return n;
  };
  for (const raw of list.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const dash = part.indexOf('-');
    const lo = num((dash < 0 ? part : part.slice(0, dash)).trim(), part);
    const hi = dash < 0 ? lo : num(part.slice(dash + 1).trim(), part);
    if (lo > hi) throw new TsociError(`${field}: invalid CPU list ${JSON.stringify(list)}: invalid range ${JSON.stringify(part)}`);
    for (let c = lo; c <= hi; c++) cpus.push(c);
  }
  if (cpus.length === 0) throw new TsociError(`${field}: invalid CPU list ${JSON.stringify(list)}: no members found`);
  return cpus;
}

/** Validated lists (kept as text for tsoci-init); undefined when neither is set. */
export function planCpuAffinity(a: NonNullable<Process['execCPUAffinity']>, field: string): PlannedProcess['execCPUAffinity'] {
  const out: NonNullable<PlannedProcess['execCPUAffinity']> = {};
  if (a.initial !== undefined && a.initial !== '') {
    parseCpuList(a.initial, `${field}.initial`);
    out.initial = a.initial;
  }
  if (a.final !== undefined && a.final !== '') {
    parseCpuList(a.final, `${field}.final`);
    out.final = a.final;
  }
  return out.initial === undefined && out.final === undefined ? undefined : out;
}

export function planPersonality(p: NonNullable<NonNullable<Spec['linux']>['personality']>, field = 'linux.personality'): number {
  let value = lookup(PERSONALITY_DOMAINS, p.domain, `${field}.domain`, 'personality domain');
  (p.flags ?? []).forEach((f, i) => {
    value |= lookup(PERSONALITY_FLAGS, f, `${field}.flags[${i}]`, 'personality flag');
  });
  return value;
}

/**
 * Adds scheduler, ioPriority and (exec mode only: the runtime-spec says it does not apply
 * to the container's init, and runc ignores it there) execCPUAffinity to a planned process.
 */
export function planProcessScheduling(p: Process, out: PlannedProcess, mode: 'create' | 'exec', field = 'process'): void {
  if (p.scheduler) out.scheduler = planScheduler(p.scheduler, `${field}.scheduler`);
  if (p.ioPriority) out.ioPriority = planIoPriority(p.ioPriority, `${field}.ioPriority`);
  if (p.execCPUAffinity) {
    const aff = planCpuAffinity(p.execCPUAffinity, `${field}.execCPUAffinity`);
    if (aff && mode === 'exec') out.execCPUAffinity = aff;
  }
}
