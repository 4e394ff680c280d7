import type { LinuxCapabilities } from '../spec/types';
import type { PlannedCapabilities } from './launch-plan';
import { TsociError } from '../util/errors';

/** Linux capability names in number order: CAPABILITY_NAMES[n] is capability n. */
export const CAPABILITY_NAMES: readonly string[] = Object.freeze([
  'CAP_CHOWN', // 0
  'CAP_DAC_OVERRIDE', // 1
  'CAP_DAC_READ_SEARCH', // 2
  'CAP_FOWNER', // 3
  'CAP_FSETID', // 4
  'CAP_KILL', // 5
  'CAP_SETGID', // 6
  'CAP_SETUID', // 7
  'CAP_SETPCAP', // 8
  'CAP_LINUX_IMMUTABLE', // 9
  'CAP_NET_BIND_SERVICE', // 10
  'CAP_NET_BROADCAST', // 11
  'CAP_NET_ADMIN', // 12
  'CAP_NET_RAW', // 13
  'CAP_IPC_LOCK', // 14
  'CAP_IPC_OWNER', // 15
  'CAP_SYS_MODULE', // 16
  'CAP_SYS_RAWIO', // 17
  'CAP_SYS_CHROOT', // 18
  'CAP_SYS_PTRACE', // 19
  'CAP_SYS_PACCT', // 20
  'CAP_SYS_ADMIN', // 21
  'CAP_SYS_BOOT', // 22
  'CAP_SYS_NICE', // 23
  'CAP_SYS_RESOURCE', // 24
  'CAP_SYS_TIME', // 25
  'CAP_SYS_TTY_CONFIG', // 26
  'CAP_MKNOD', // 27
  'CAP_LEASE', // 28
  'CAP_AUDIT_WRITE', // 29
  'CAP_AUDIT_CONTROL', // 30
  'CAP_SETFCAP', // 31
  'CAP_MAC_OVERRIDE', // 32
  'CAP_MAC_ADMIN', // 33
  'CAP_SYSLOG', // 34
  'CAP_WAKE_ALARM', // 35
  'CAP_BLOCK_SUSPEND', // 36
  'CAP_AUDIT_READ', // 37
  'CAP_PERFMON', // 38
  'CAP_BPF', // 39
  'CAP_CHECKPOINT_RESTORE', // 40
]);

/** Highest capability number this table knows (CAP_LAST_CAP). */
export const CAP_LAST_CAP = CAPABILITY_NAMES.length - 1;

const CAPABILITY_NUMBERS: ReadonlyMap<string, number> = new Map(
  CAPABILITY_NAMES.map((name, n) => [name, n] as [string, number]),
);

/** "CAP_SYS_ADMIN" → 21; undefined for an unknown name. Names are matched exactly. */
export function capabilityNumber(name: string): number | undefined {
  return CAPABILITY_NUMBERS.get(name);
}

/** 21 → "CAP_SYS_ADMIN"; undefined when out of range. */
export function capabilityName(n: number): string | undefined {
  return CAPABILITY_NAMES[n];
}

/**
 * Resolve a list of capability names to numbers (order kept, duplicates dropped).
 * Throws `<field>[i]: unknown capability "CAP_FOO"`.
 */
export function resolveCapabilityList(names: readonly string[] | undefined, field: string): number[] {
  const out: number[] = [];
  (names ?? []).forEach((name, i) => {
    const n = capabilityNumber(name);
    if (n === undefined) throw new TsociError(`${field}[${i}]: unknown capability ${JSON.stringify(name)}`);
    if (!out.includes(n)) out.push(n);
  });
  return out;
}

const SETS = ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'] as const;

/**
 * process.capabilities → numbers. An absent object means "leave unchanged" (undefined);
 * a present object with absent sets means those sets are empty.
 */
export function resolveCapabilities(
  caps: LinuxCapabilities | undefined,
  field = 'process.capabilities',
): PlannedCapabilities | undefined {
  if (caps === undefined || caps === null) return undefined;
  const out = {} as PlannedCapabilities;
  for (const set of SETS) out[set] = resolveCapabilityList(caps[set], `${field}.${set}`);
  return out;
}
