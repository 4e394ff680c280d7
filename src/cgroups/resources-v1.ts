/**
 * LinuxResources → cgroup v1 files. Order and tolerances follow runc (opencontainers/cgroups
 * fs/*.go): cpuset, devices, memory, cpu, pids, blkio, hugetlb, net_cls, net_prio, rdma.
 *
 * Tolerated (skipped without error), like runc:
 *  - memory.kernel / memory.kernelTCP: ignored entirely (kmem limits are gone in kernel 6.x;
 *    runc ignores them with a warning).
 *  - memory.useHierarchy: v1 memory is always hierarchical on kernels >= 5.x (writing 0 fails);
 *    runc ignores the field. We write "1" when true (harmless) and ignore false.
 *  - memory.checkBeforeUpdate: v2 only (the v1 kernel refuses a limit below usage itself).
 *  - memory.swappiness -1 (or unset): left alone.
 *  - cpu.burst when cpu.cfs_burst_us does not exist (older kernels).
 *  - hugetlb.<size>.rsvd.limit_in_bytes missing (older kernels): only the plain limit is set.
 * Errors:
 *  - `unified` non-empty → "invalid configuration: cannot use unified on cgroup v1" (runc's).
 *  - a value for a controller that is not mounted (hugetlb, net_cls, net_prio, rdma on this
 *    host) → "cgroup: cannot set <x>: no <controller> cgroup hierarchy is mounted".
 *  - swappiness > 100 → runc's "invalid memory swappiness value".
 *  - pids.limit: > 0 → the value; < 0 → "max"; 0 → "1" (runtime-spec 1.3.0 made 0 a real
 *    limit; runc >= 1.4 writes 1 for it because systemd cannot express 0).
 *  - any write the kernel refuses → "cgroup: write <file>: <errno text> (<CODE>)".
 */
import { deviceAccess, deviceRuleMatters } from './device-access';
import * as path from 'path';
import type { LinuxResources } from '../spec/types';
import { TsociError } from '../util/errors';
import { cgRead, cgTryWrite, cgWrite, cgError, exists, parseUint } from './files';
import type { CgroupPaths } from './paths';
import { rootlessLimitError } from './rootless';

type Memory = NonNullable<LinuxResources['memory']>;
type Cpu = NonNullable<LinuxResources['cpu']>;
type DeviceRule = NonNullable<LinuxResources['devices']>[number];

/**
 * Device rules runc appends after the spec's (specconv AllowedDevices): mknod of any char or
 * block device, and the standard /dev nodes plus ptys, /dev/ptmx and /dev/net/tun.
 */
export const DEFAULT_DEVICE_RULES: DeviceRule[] = [
  { allow: true, type: 'c', major: -1, minor: -1, access: 'm' },
  { allow: true, type: 'b', major: -1, minor: -1, access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // null
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, // random
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // full
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, // tty
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // zero
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, // urandom
  { allow: true, type: 'c', major: 136, minor: -1, access: 'rwm' }, // /dev/pts/*
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // ptmx
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }, // net/tun
];

/** Text of one v1 devices.allow/devices.deny entry. */
export function deviceRuleText(r: DeviceRule): string {
  const type = r.type ?? 'a';
  if (type === 'a') return 'a';
  const num = (n: number | undefined) => (n === undefined || n === null || n < 0 ? '*' : String(n));
  return `${type} ${num(r.major)}:${num(r.minor)} ${deviceAccess(r.access)}`;
}

function validateDeviceRule(r: DeviceRule, i: number): void {
  const type = r.type ?? 'a';
  if (!['a', 'b', 'c'].includes(type)) throw new TsociError(`cgroup: invalid device rule ${i}: type ${JSON.stringify(type)}`);
}

function need(paths: CgroupPaths, opts: ApplyOptions, controller: string, what: string): string {
  const dir = paths[controller];
  const skipped = opts.skipped?.[controller];
  if (!dir && skipped) throw rootlessLimitError(what, skipped);
  if (!dir) throw new TsociError(`cgroup: cannot set ${what}: no ${controller} cgroup hierarchy is mounted`);
  return dir;
}

/** Devices: deny everything, then the spec's rules in order, then runc's defaults. */
export function applyDevicesV1(dir: string, rules: DeviceRule[]): void {
  rules.forEach(validateDeviceRule);
  cgWrite(dir, 'devices.deny', 'a');
  for (const r of [...rules, ...DEFAULT_DEVICE_RULES].filter(deviceRuleMatters)) {
    cgWrite(dir, r.allow ? 'devices.allow' : 'devices.deny', deviceRuleText(r));
  }
}

function memoryLimitBusy(dir: string, val: number): TsociError {
  const usage = cgRead(dir, 'memory.usage_in_bytes');
  const max = cgRead(dir, 'memory.max_usage_in_bytes');
  return new TsociError(`cgroup: unable to set memory limit to ${val} (current usage: ${usage}, peak usage: ${max})`, 'EBUSY');
}

function setLimit(dir: string, val: number): void {
  if (val === 0) return;
  const code = cgTryWrite(dir, 'memory.limit_in_bytes', String(val));
  if (code === 'EBUSY') throw memoryLimitBusy(dir, val);
  if (code) throw cgError('write', path.join(dir, 'memory.limit_in_bytes'), { code });
}

function setMemsw(dir: string, val: number): void {
  if (val === 0) return;
  cgWrite(dir, 'memory.memsw.limit_in_bytes', String(val));
}

export function applyMemoryV1(dir: string, m: Memory): void {
  const limit = m.limit ?? 0;
  let swap = m.swap ?? 0;
  // unlimited memory with no explicit swap means unlimited memory+swap (when swap accounting exists)
  if (limit === -1 && swap === 0 && exists(path.join(dir, 'memory.memsw.limit_in_bytes'))) swap = -1;
  // memsw must stay >= limit at every step: raise memsw first when growing
  let done = false;
  if (limit !== 0 && swap !== 0) {
    const cur = parseUint(cgRead(dir, 'memory.limit_in_bytes'));
    if (swap === -1 || cur < swap) {
      setMemsw(dir, swap);
      setLimit(dir, limit);
      done = true;
    }
  }
  if (!done) {
    setLimit(dir, limit);
    setMemsw(dir, swap);
  }
  if (m.reservation) cgWrite(dir, 'memory.soft_limit_in_bytes', String(m.reservation));
  if (m.disableOOMKiller) cgWrite(dir, 'memory.oom_control', '1');
  if (m.useHierarchy) cgWrite(dir, 'memory.use_hierarchy', '1');
  if (m.swappiness !== undefined && m.swappiness !== null && m.swappiness !== -1) {
    if (m.swappiness < 0 || m.swappiness > 100) {
      throw new TsociError(`cgroup: invalid memory swappiness value: ${m.swappiness} (valid range is 0-100)`);
    }
    cgWrite(dir, 'memory.swappiness', String(m.swappiness));
  }
}

/** Real-time bandwidth: period and runtime depend on each other; retry the period after the runtime. */
export function applyCpuRtV1(dir: string, c: Cpu): void {
  let pendingPeriod = '';
  if (c.realtimePeriod) {
    const code = cgTryWrite(dir, 'cpu.rt_period_us', String(c.realtimePeriod));
    if (code) {
      if (code !== 'EINVAL' || !c.realtimeRuntime) throw cgError('write', path.join(dir, 'cpu.rt_period_us'), { code });
      pendingPeriod = String(c.realtimePeriod);
    }
  }
  if (c.realtimeRuntime) {
    cgWrite(dir, 'cpu.rt_runtime_us', String(c.realtimeRuntime));
    if (pendingPeriod) cgWrite(dir, 'cpu.rt_period_us', pendingPeriod);
  }
}

export function applyCpuV1(dir: string, c: Cpu): void {
  if (c.shares) {
    cgWrite(dir, 'cpu.shares', String(c.shares));
    const got = parseUint(cgRead(dir, 'cpu.shares'));
    if (c.shares > got) throw new TsociError(`cgroup: the maximum allowed cpu-shares is ${got}`);
    if (c.shares < got) throw new TsociError(`cgroup: the minimum allowed cpu-shares is ${got}`);
  }
  // period and burst may be refused (EINVAL) until the quota is changed: retry after it
  let pendingPeriod = '';
  if (c.period) {
    const code = cgTryWrite(dir, 'cpu.cfs_period_us', String(c.period));
    if (code) {
      if (code !== 'EINVAL' || !c.quota) throw cgError('write', path.join(dir, 'cpu.cfs_period_us'), { code });
      pendingPeriod = String(c.period);
    }
  }
  let pendingBurst = '';
  if (c.burst !== undefined && c.burst !== null) {
    const code = cgTryWrite(dir, 'cpu.cfs_burst_us', String(c.burst));
    if (code && code !== 'ENOENT') {
      if (code !== 'EINVAL' || !c.quota) throw cgError('write', path.join(dir, 'cpu.cfs_burst_us'), { code });
      pendingBurst = String(c.burst);
    }
  }
  if (c.quota) {
    cgWrite(dir, 'cpu.cfs_quota_us', String(c.quota));
    if (pendingPeriod) cgWrite(dir, 'cpu.cfs_period_us', pendingPeriod);
    if (pendingBurst) cgWrite(dir, 'cpu.cfs_burst_us', pendingBurst);
  }
  if (c.idle !== undefined && c.idle !== null) cgWrite(dir, 'cpu.idle', String(c.idle));
  applyCpuRtV1(dir, c);
}

/** pids.max value for a spec limit (same text on v1 and v2). */
export function pidsMaxValue(limit: number): string {
  if (limit > 0) return String(limit);
  if (limit === 0) return '1';
  return 'max';
}

export function applyBlkioV1(dir: string, b: NonNullable<LinuxResources['blockIO']>): void {
  const bfq = !exists(path.join(dir, 'blkio.weight'));
  const weightFile = bfq ? 'blkio.bfq.weight' : 'blkio.weight';
  const weightDeviceFile = bfq ? 'blkio.bfq.weight_device' : 'blkio.weight_device';
  if (b.weight) cgWrite(dir, weightFile, String(b.weight));
  if (b.leafWeight) cgWrite(dir, 'blkio.leaf_weight', String(b.leafWeight));
  for (const wd of b.weightDevice ?? []) {
    if (wd.weight) cgWrite(dir, weightDeviceFile, `${wd.major}:${wd.minor} ${wd.weight}`);
    if (wd.leafWeight) cgWrite(dir, 'blkio.leaf_weight_device', `${wd.major}:${wd.minor} ${wd.leafWeight}`);
  }
  const throttle: [keyof typeof b, string][] = [
    ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
    ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
    ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
    ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
  ];
  for (const [key, file] of throttle) {
    for (const td of (b[key] as { major: number; minor: number; rate: number }[] | undefined) ?? []) {
      cgWrite(dir, file, `${td.major}:${td.minor} ${td.rate}`);
    }
  }
}

function blkioSet(b: LinuxResources['blockIO']): boolean {
  if (!b) return false;
  return !!(b.weight || b.leafWeight || b.weightDevice?.length || b.throttleReadBpsDevice?.length || b.throttleWriteBpsDevice?.length ||
    b.throttleReadIOPSDevice?.length || b.throttleWriteIOPSDevice?.length);
}

export function applyHugetlbV1(dir: string, limits: NonNullable<LinuxResources['hugepageLimits']>): void {
  let skipRsvd = false;
  for (const h of limits) {
    const prefix = `hugetlb.${h.pageSize}`;
    cgWrite(dir, `${prefix}.limit_in_bytes`, String(h.limit));
    if (skipRsvd) continue;
    const code = cgTryWrite(dir, `${prefix}.rsvd.limit_in_bytes`, String(h.limit));
    if (code === 'ENOENT') skipRsvd = true;
    else if (code) throw cgError('write', path.join(dir, `${prefix}.rsvd.limit_in_bytes`), { code });
  }
}

/** rdma.max lines (same format on v1 and v2): "<dev> hca_handle=N hca_object=M" ("max" when unset). */
export function rdmaLines(rdma: NonNullable<LinuxResources['rdma']>): string[] {
  const out: string[] = [];
  for (const [dev, v] of Object.entries(rdma)) {
    if (!v) continue;
    const h = v.hcaHandles ?? undefined;
    const o = v.hcaObjects ?? undefined;
    if (h === undefined && o === undefined) continue;
    out.push(`${dev} hca_handle=${h === undefined ? 'max' : h} hca_object=${o === undefined ? 'max' : o}`);
  }
  return out;
}

export interface ApplyOptions {
  /** true for `update`: devices are only rewritten when the request lists them */
  update?: boolean;
  /** rootless: device rules that cannot be written are skipped (runc does the same) */
  rootless?: boolean;
  /** rootless: the hierarchies skipped at create (controller → why), for the error of a limit that needed one */
  skipped?: Record<string, TsociError>;
}

/** Applies every resource; `paths` are the container's v1 directories (already created). */
export function applyResourcesV1(paths: CgroupPaths, r: LinuxResources | undefined, opts: ApplyOptions = {}): void {
  if (!r) r = {};
  if (r.unified && Object.keys(r.unified).length > 0) {
    throw new TsociError('cgroup: invalid configuration: cannot use unified on cgroup v1');
  }
  if (r.cpu && (r.cpu.cpus || r.cpu.mems)) {
    const dir = need(paths, opts, 'cpuset', 'cpuset.cpus/cpuset.mems');
    if (r.cpu.cpus) cgWrite(dir, 'cpuset.cpus', r.cpu.cpus);
    if (r.cpu.mems) cgWrite(dir, 'cpuset.mems', r.cpu.mems);
  }
  if (!opts.update || r.devices !== undefined) {
    // the devices controller is mandatory for security (runc refuses to run without it)
    try {
      applyDevicesV1(need(paths, opts, 'devices', 'device rules'), r.devices ?? []);
    } catch (err) {
      if (!opts.rootless) throw err;
    }
  }
  if (r.memory) {
    const m = r.memory;
    if (m.limit || m.swap || m.reservation || m.disableOOMKiller || m.useHierarchy || (m.swappiness !== undefined && m.swappiness !== -1)) {
      applyMemoryV1(need(paths, opts, 'memory', 'memory limits'), m);
    }
  }
  if (r.cpu) {
    const c = r.cpu;
    if (c.shares || c.period || c.quota || c.burst !== undefined || c.idle !== undefined || c.realtimePeriod || c.realtimeRuntime) {
      applyCpuV1(need(paths, opts, 'cpu', 'cpu limits'), c);
    }
  }
  if (r.pids && r.pids.limit !== undefined && r.pids.limit !== null) {
    cgWrite(need(paths, opts, 'pids', 'pids.limit'), 'pids.max', pidsMaxValue(r.pids.limit));
  }
  if (blkioSet(r.blockIO)) applyBlkioV1(need(paths, opts, 'blkio', 'blockIO limits'), r.blockIO!);
  if (r.hugepageLimits && r.hugepageLimits.length > 0) applyHugetlbV1(need(paths, opts, 'hugetlb', 'hugepageLimits'), r.hugepageLimits);
  if (r.network) {
    if (r.network.classID !== undefined && r.network.classID !== null && r.network.classID !== 0) {
      cgWrite(need(paths, opts, 'net_cls', 'network.classID'), 'net_cls.classid', String(r.network.classID));
    }
    if (r.network.priorities && r.network.priorities.length > 0) {
      const dir = need(paths, opts, 'net_prio', 'network.priorities');
      for (const p of r.network.priorities) cgWrite(dir, 'net_prio.ifpriomap', `${p.name} ${p.priority}`);
    }
  }
  if (r.rdma) {
    const lines = rdmaLines(r.rdma);
    if (lines.length > 0) {
      const dir = need(paths, opts, 'rdma', 'rdma limits');
      for (const l of lines) cgWrite(dir, 'rdma.max', l);
    }
  }
}
