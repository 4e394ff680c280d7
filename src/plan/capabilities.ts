import type { LinuxCapabilities } from '../spec/types';
import type { PlannedCapabilities } from './launch-plan';

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
 * Resolve a list of capability names to numbers (order kept, duplicates dropped). A name
 * this table does not know is left out: runtime-spec 1.3.0 config.md says a capability that
 * cannot be mapped MUST be logged as a warning and runtimes SHOULD NOT fail, and runc
 * ignores it (unknownCapabilities gives the names for the warning).
 */
export function resolveCapabilityList(names: readonly string[] | undefined): number[] {
  const out: number[] = [];
  for (const name of names ?? []) {
    const n = capabilityNumber(name);
    if (n !== undefined && !out.includes(n)) out.push(n);
  }
  return out;
}

const SETS = ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'] as const;

/**
 * process.capabilities → numbers. An absent object means "leave unchanged" (undefined);
 * a present object with absent sets means those sets are empty.
 */
export function resolveCapabilities(caps: LinuxCapabilities | undefined): PlannedCapabilities | undefined {
  if (caps === undefined || caps === null) return undefined;
  const out = {} as PlannedCapabilities;
  for (const set of SETS) out[set] = resolveCapabilityList(caps[set]);
  return out;
}

/** The capability names of every set that resolveCapabilities leaves out, sorted, once each. */
export function unknownCapabilities(caps: LinuxCapabilities | undefined): string[] {
  const names = SETS.flatMap((set) => (Array.isArray(caps?.[set]) ? caps![set]! : []));
  return [...new Set(names.filter((n) => capabilityNumber(n) === undefined))].sort();
}

/**
 * runc's warning (libcontainer/capabilities, logged while the process is set up), or
 * undefined when every name is known: `ignoring unknown or unavailable capabilities: [A B]`.
 */
export function unknownCapabilityWarning(caps: LinuxCapabilities | undefined): string | undefined {
  const unknown = unknownCapabilities(caps);
  return unknown.length ? `ignoring unknown or unavailable capabilities: [${unknown.join(' ')}]` : undefined;
}
