/**
 * LinuxResources → systemd unit properties for the transient scope (pure; no D-Bus here).
 * The mapping follows runc's systemd driver (opencontainers/cgroups systemd/v1.go, v2.go,
 * common.go, devices/systemd.go), checked against it for behaviour:
 *
 * - always: Description, Slice= (a scope) or Wants= (a ".slice" unit), Delegate=yes (scopes),
 *   PIDs=[pid], Memory/CPU/Tasks accounting plus BlockIOAccounting (v1) or IOAccounting (v2),
 *   DefaultDependencies=no.
 * - v1: MemoryLimit, CPUShares, BlockIOWeight. v2: MemoryMax, MemoryLow, MemorySwapMax
 *   (memory+swap → swap only), CPUWeight (from shares; 0 for cpu.idle=1 on systemd ≥ 252),
 *   the unified keys systemd knows, OOMPolicy from memory.oom.group (start only, ≥ 253).
 * - both: CPUQuotaPeriodUSec (≥ 242), CPUQuotaPerSecUSec (rounded up to whole percents of a
 *   CPU, as systemd stores it; the cgroup files get the same rounded quota), TasksMax (0 → 1,
 *   negative → infinity), AllowedCPUs/AllowedMemoryNodes (≥ 244), devices as
 *   DevicePolicy + DeviceAllow.
 * Everything systemd cannot express is still written to the cgroup files afterwards.
 * systemd ≥ 240 is assumed for "char-<major>" groups; versions are only compared when given.
 */
import { deviceAccess, deviceRuleMatters } from './device-access';
import type { LinuxResources } from '../spec/types';
import { TsociError } from '../util/errors';
import { DEFAULT_DEVICE_RULES } from './resources-v1';
import { sharesToWeight, swapToV2 } from './resources-v2';

export type SdSig = 's' | 'b' | 't' | 'au' | 'ay' | 'a(ss)';
export interface SdProp {
  name: string;
  sig: SdSig;
  value: string | boolean | bigint | number[] | [string, string][];
}

/** systemd's USEC_INFINITY / "infinity" for 64-bit limits */
export const SD_INFINITY = 2n ** 64n - 1n;
const DEFAULT_QUOTA_PERIOD = 100000;

const p = (name: string, sig: SdSig, value: SdProp['value']): SdProp => ({ name, sig, value });
const u64 = (n: number): bigint => (n < 0 ? SD_INFINITY : BigInt(Math.trunc(n)));

export interface ScopeInput {
  /** unit name: "<prefix>-<name>.scope" or a ".slice" */
  unit: string;
  slice: string;
  description: string;
  pid: number;
  /** the host is pure cgroup v2 (the hybrid host uses the v1 properties, like runc) */
  v2: boolean;
  resources?: LinuxResources;
  /** systemd's version (Manager.Version); -1 when unknown */
  version: number;
}

export interface PropsResult {
  props: SdProp[];
  /** things systemd could not be told (they still go to the cgroup files) */
  warnings: string[];
}

/** Properties of StartTransientUnit. */
export function scopeProperties(input: ScopeInput): PropsResult {
  const props: SdProp[] = [p('Description', 's', input.description)];
  if (input.unit.endsWith('.slice')) {
    props.push(p('Wants', 's', input.slice));
  } else {
    props.push(p('Slice', 's', input.slice), p('Delegate', 'b', true));
  }
  props.push(
    p('PIDs', 'au', [input.pid]),
    p('MemoryAccounting', 'b', true),
    p('CPUAccounting', 'b', true),
    p(input.v2 ? 'IOAccounting' : 'BlockIOAccounting', 'b', true),
    p('TasksAccounting', 'b', true),
    p('DefaultDependencies', 'b', false),
  );
  const oom = input.resources?.unified?.['memory.oom.group'];
  if (input.v2 && oom !== undefined && input.version >= 253) {
    if (oom.trim() === '0') props.push(p('OOMPolicy', 's', 'continue'));
    else if (oom.trim() === '1') props.push(p('OOMPolicy', 's', 'kill'));
  }
  const res = resourceProperties(input.resources, { v2: input.v2, version: input.version });
  return { props: [...props, ...res.props], warnings: res.warnings };
}

export interface ResourceOptions {
  v2: boolean;
  version: number;
  /** update: devices are not sent again (they cannot change after create) */
  update?: boolean;
}

/** Resource properties (StartTransientUnit and SetUnitProperties). */
export function resourceProperties(r: LinuxResources | undefined, opts: ResourceOptions): PropsResult {
  const props: SdProp[] = [];
  const warnings: string[] = [];
  r ??= {};
  if (!opts.update) props.push(...deviceProperties(r.devices ?? [], opts.version, warnings));
  const mem = r.memory ?? {};
  const cpu = r.cpu ?? {};
  if (!opts.v2) {
    if (mem.limit) props.push(p('MemoryLimit', 't', u64(mem.limit)));
    if (cpu.shares) props.push(p('CPUShares', 't', BigInt(cpu.shares)));
  } else {
    if (mem.limit) props.push(p('MemoryMax', 't', u64(mem.limit)));
    if (mem.reservation) props.push(p('MemoryLow', 't', u64(mem.reservation)));
    const swap = swapToV2(mem.swap ?? 0, mem.limit ?? 0);
    if (swap) props.push(p('MemorySwapMax', 't', u64(swap)));
    const idle = cpu.idle === 1 && opts.version >= 252;
    if (idle) props.push(p('CPUWeight', 't', 0n));
    else if (cpu.shares) props.push(p('CPUWeight', 't', BigInt(sharesToWeight(cpu.shares))));
  }
  props.push(...cpuQuotaProperties(cpu.quota ?? 0, cpu.period ?? 0, opts.version));
  if (!opts.v2 && r.blockIO?.weight) props.push(p('BlockIOWeight', 't', BigInt(r.blockIO.weight)));
  const limit = r.pids?.limit;
  if (limit !== undefined && limit !== null) props.push(p('TasksMax', 't', limit < 0 ? SD_INFINITY : BigInt(limit === 0 ? 1 : limit)));
  if ((cpu.cpus || cpu.mems) && opts.version >= 244) {
    if (cpu.cpus) props.push(p('AllowedCPUs', 'ay', rangeToBits(cpu.cpus, 'cpu.cpus')));
    if (cpu.mems) props.push(p('AllowedMemoryNodes', 'ay', rangeToBits(cpu.mems, 'cpu.mems')));
  }
  if (opts.v2 && r.unified) props.push(...unifiedProperties(r.unified, opts.version));
  return { props, warnings };
}

/**
 * The quota systemd ends up with: CPUQuotaPerSecUSec is stored in whole percents of a CPU,
 * so a quota is rounded up to the next 10 ms per second. The files get this value too.
 */
export function systemdCpuQuota(quota: number, period: number): number {
  if (quota <= 0) return quota;
  const per = period || DEFAULT_QUOTA_PERIOD;
  const perSec = Math.floor((quota * 1000000) / per);
  if (perSec % 10000 === 0) return quota;
  return Math.floor(((Math.floor(perSec / 10000) + 1) * 10000 * per) / 1000000);
}

function cpuQuotaProperties(quota: number, period: number, version: number): SdProp[] {
  const props: SdProp[] = [];
  if (period && version >= 242) props.push(p('CPUQuotaPeriodUSec', 't', BigInt(period)));
  if (quota !== 0 || period !== 0) {
    let perSec = SD_INFINITY;
    if (quota > 0) {
      const per = period || DEFAULT_QUOTA_PERIOD;
      let v = Math.floor((quota * 1000000) / per);
      if (v % 10000 !== 0) v = (Math.floor(v / 10000) + 1) * 10000;
      perSec = BigInt(v);
    }
    props.push(p('CPUQuotaPerSecUSec', 't', perSec));
  }
  return props;
}

/** "0-2,5" → systemd's CPU/node mask bytes (bit n = CPU n, little-endian byte order). */
export function rangeToBits(text: string, what = 'value'): number[] {
  const bytes: number[] = [];
  const set = (n: number) => {
    while (bytes.length <= n >> 3) bytes.push(0);
    bytes[n >> 3] |= 1 << (n & 7);
  };
  const num = (s: string) => {
    if (!/^\d+$/.test(s)) throw new TsociError(`systemd cgroup driver: ${what}=${JSON.stringify(text)}: invalid number ${JSON.stringify(s)}`);
    return Number(s);
  };
  for (const raw of text.split(',')) {
    const part = raw.trim();
    if (!part) continue;
    const dash = part.indexOf('-');
    if (dash < 0) {
      set(num(part));
      continue;
    }
    const a = num(part.slice(0, dash));
    const b = num(part.slice(dash + 1));
    if (a > b) throw new TsociError(`systemd cgroup driver: ${what}=${JSON.stringify(text)}: invalid range ${part}`);
    for (let i = a; i <= b; i++) set(i);
  }
  if (bytes.length === 0) throw new TsociError(`systemd cgroup driver: ${what}=${JSON.stringify(text)}: empty value`);
  return bytes;
}

function unifiedProperties(unified: Record<string, string>, version: number): SdProp[] {
  const props: SdProp[] = [];
  const bad = (k: string, v: string): never => {
    throw new TsociError(`systemd cgroup driver: unified resource ${JSON.stringify(k)} value invalid: ${JSON.stringify(v)}`);
  };
  const uint = (k: string, v: string): bigint => (v === 'max' ? SD_INFINITY : /^\d+$/.test(v) ? BigInt(v) : bad(k, v));
  const idle = unified['cpu.idle']?.trim() === '1' && version >= 252;
  const memNames: Record<string, string> = { 'memory.high': 'MemoryHigh', 'memory.low': 'MemoryLow', 'memory.min': 'MemoryMin', 'memory.max': 'MemoryMax', 'memory.swap.max': 'MemorySwapMax' };
  for (const [k, raw] of Object.entries(unified)) {
    const v = raw.trim();
    if (k.includes('/') || k.indexOf('.') <= 0) throw new TsociError(`systemd cgroup driver: unified resource ${JSON.stringify(k)} must be CONTROLLER.PARAMETER`);
    if (k === 'cpu.idle') {
      if (idle) props.push(p('CPUWeight', 't', 0n));
    } else if (k === 'cpu.weight') {
      if (!idle) props.push(p('CPUWeight', 't', /^\d+$/.test(v) ? BigInt(v) : bad(k, v)));
    } else if (k === 'cpu.max') {
      const f = v.split(/\s+/);
      if (f.length < 1 || f.length > 2) bad(k, v);
      const quota = f[0] === 'max' ? 0 : /^\d+$/.test(f[0]) ? Number(f[0]) : bad(k, v);
      const period = f.length === 2 ? (/^\d+$/.test(f[1]) ? Number(f[1]) : bad(k, v)) : DEFAULT_QUOTA_PERIOD;
      props.push(...cpuQuotaProperties(quota, period, version));
    } else if (k === 'cpuset.cpus' || k === 'cpuset.mems') {
      if (version >= 244) props.push(p(k === 'cpuset.cpus' ? 'AllowedCPUs' : 'AllowedMemoryNodes', 'ay', rangeToBits(v, k)));
    } else if (memNames[k]) {
      props.push(p(memNames[k], 't', uint(k, v)));
    } else if (k === 'pids.max') {
      const n = uint(k, v);
      props.push(p('TasksMax', 't', n === 0n ? 1n : n));
    }
    // anything else only goes to the files
  }
  return props;
}

type DeviceRule = NonNullable<LinuxResources['devices']>[number];

/**
 * Device rules → DevicePolicy/DeviceAllow. The rules the files get (deny all, the spec's
 * rules, then runc's default devices) are replayed on a small model of the v1 devices
 * controller; systemd can only express an allow list, so a deny list that is not "allow
 * everything" becomes deny-all for systemd (the files still hold the exact rules).
 */
export function deviceProperties(rules: DeviceRule[], version: number, warnings: string[] = []): SdProp[] {
  let allowAll = false;
  const exceptions = new Map<string, Set<string>>();
  for (const r of [...rules, ...DEFAULT_DEVICE_RULES].filter(deviceRuleMatters)) {
    const type = r.type ?? 'a';
    if (type === 'a') {
      allowAll = r.allow;
      exceptions.clear();
      continue;
    }
    const key = `${type} ${wild(r.major)}:${wild(r.minor)}`;
    const perms = new Set(deviceAccess(r.access).split(''));
    const cur = exceptions.get(key) ?? new Set<string>();
    // an exception is an allow in deny-all mode and a deny in allow-all mode
    if (r.allow !== allowAll) for (const c of perms) cur.add(c);
    else for (const c of perms) cur.delete(c);
    if (cur.size) exceptions.set(key, cur);
    else exceptions.delete(key);
  }
  const reset = [p('DeviceAllow', 'a(ss)', []), p('DevicePolicy', 's', 'strict')];
  if (allowAll) {
    if (exceptions.size === 0) return [p('DeviceAllow', 'a(ss)', []), p('DevicePolicy', 's', 'auto')];
    warnings.push('systemd cannot express device deny rules: it is told to deny every device (the cgroup files hold the exact rules)');
    return reset;
  }
  const allow: [string, string][] = [];
  for (const [key, set] of exceptions) {
    const m = /^([bc]) (\*|\d+):(\*|\d+)$/.exec(key)!;
    const perms = ['r', 'w', 'm'].filter((c) => set.has(c)).join('');
    const group = m[1] === 'b' ? 'block-' : 'char-';
    if (m[2] === '*') {
      if (m[3] !== '*') {
        warnings.push(`systemd cannot express the device rule "${key}": left to the cgroup files`);
        continue;
      }
      allow.push([group + '*', perms]);
    } else if (m[3] === '*') {
      if (version >= 0 && version < 240) {
        warnings.push(`systemd ${version} cannot express the device rule "${key}": left to the cgroup files`);
        continue;
      }
      allow.push([group + m[2], perms]);
    } else {
      allow.push([`/dev/${m[1] === 'b' ? 'block' : 'char'}/${m[2]}:${m[3]}`, perms]);
    }
  }
  return [...reset, p('DeviceAllow', 'a(ss)', allow)];
}

function wild(n: number | undefined | null): string {
  return n === undefined || n === null || n < 0 ? '*' : String(n);
}
