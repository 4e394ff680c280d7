import type { POSIXRlimit } from '../spec/types';
import type { PlannedRlimit } from './launch-plan';
import { TsociError } from '../util/errors';

/** RLIMIT_* names → resource numbers (Linux, all architectures tsoci supports). */
export const RLIMIT_NUMBERS: Readonly<Record<string, number>> = Object.freeze({
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
});

/** "RLIMIT_NOFILE" → 7; undefined for an unknown name. */
export function rlimitNumber(name: string): number | undefined {
  return Object.prototype.hasOwnProperty.call(RLIMIT_NUMBERS, name) ? RLIMIT_NUMBERS[name] : undefined;
}

function checkLimit(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || !Number.isInteger(v)) {
    throw new TsociError(`${field}: must be a non-negative integer (got ${JSON.stringify(v)})`);
  }
  return v;
}

/**
 * process.rlimits → resource numbers. Unknown types and duplicates are errors
 * (runtime-spec: "If the same type is specified more than once, the runtime MUST error").
 *
 * NOTE values ≥ 2^53 (e.g. 18446744073709551615 = RLIM_INFINITY) have already lost
 * precision in JSON.parse; they are passed through unchanged and the consumer must treat
 * any value ≥ 2^63 as RLIM_INFINITY.
 */
export function resolveRlimits(rlimits: readonly POSIXRlimit[] | undefined, field = 'process.rlimits'): PlannedRlimit[] {
  const out: PlannedRlimit[] = [];
  const seen = new Set<number>();
  (rlimits ?? []).forEach((rl, i) => {
    const f = `${field}[${i}]`;
    const resource = rlimitNumber(rl.type);
    if (resource === undefined) throw new TsociError(`${f}.type: unknown rlimit type ${JSON.stringify(rl.type)}`);
    if (seen.has(resource)) {
      throw new TsociError(`${f}.type: rlimit ${JSON.stringify(rl.type)} may not be specified twice`);
    }
    seen.add(resource);
    const soft = checkLimit(rl.soft, `${f}.soft`);
    const hard = checkLimit(rl.hard, `${f}.hard`);
    if (soft > hard) {
      throw new TsociError(`${f}: soft limit ${soft} of ${rl.type} exceeds hard limit ${hard}`);
    }
    out.push({ resource, soft, hard });
  });
  return out;
}
