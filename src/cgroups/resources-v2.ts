/**
 * LinuxResources → cgroup v2 files, with runc's conversions (opencontainers/cgroups
 * utils.go, fs2/*.go):
 *  - cpu.shares → cpu.weight: a quadratic fit through (2→1), (1024→100), (262144→10000) in
 *    log2 space: weight = ceil(10^((l² + 125·l)/612 − 7/34)), l = log2(shares); ≤2 → 1,
 *    ≥262144 → 10000. (runc ≤ 1.2 used the linear 1 + (shares−2)·9999/262142.)
 *  - memory.swap is memory+swap in the spec but swap alone in v2: swap.max = swap − limit
 *    (limit −1 and swap unset → max; swap −1 → max; swap set without a limit → error).
 *  - blockIO.weight (10..1000) → io.weight (1..10000): 1 + (w−10)·9999/990, or written as is
 *    to io.bfq.weight when the BFQ scheduler file exists.
 *  - quota/period → cpu.max "quota period" ("max" when quota ≤ 0; period 100000 by default).
 *  - pids.limit as on v1 (<0 "max", 0 → "1").
 *  - `unified` keys are written verbatim last (they override the converted values).
 * Tolerated: network (net_cls/net_prio have no v2 files), kernel/kernelTCP, swappiness, disableOOMKiller, useHierarchy (no v2 files; runc
 * ignores them too); memory.swap.max missing when asking for "max" or "0" (no swap accounting).
 * Device rules: an eBPF program attached to the directory (devices-v2.ts), always on create
 * (runc's default rules at least), on update only when the request lists rules (as v1).
 */
import * as path from 'path';
import type { LinuxResources } from '../spec/types';
import { TsociError } from '../util/errors';
import { applyDevicesV2 } from './devices-v2';
import { cgError, cgReadOpt, cgTryWrite, cgWrite, exists, parseUint } from './files';
import { pidsMaxValue, rdmaLines } from './resources-v1';

export function sharesToWeight(shares: number): number {
  if (!shares) return 0;
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  const exponent = (l * l + 125 * l) / 612.0 - 7.0 / 34.0;
  return Math.ceil(Math.pow(10, exponent));
}

/** Spec memory+swap → v2 swap-only value: 0 = leave unset, -1 = "max". */
export function swapToV2(swap: number, limit: number): number {
  if (limit === -1 && swap === 0) return -1;
  if (swap === -1 || swap === 0) return swap;
  if (limit === -1) return swap;
  if (limit === 0) throw new TsociError('cgroup: unable to set swap limit without memory limit');
  if (limit < 0) throw new TsociError(`cgroup: invalid memory value: ${limit}`);
  if (swap < limit) throw new TsociError('cgroup: memory+swap limit should be >= memory limit');
  return swap - limit;
}

export function blkioWeightToIoWeight(w: number): number {
  if (!w) return 0;
  return 1 + Math.floor(((w - 10) * 9999) / 990);
}

/** 0 → "" (unset), -1 → "max", n → "n" */
function numToStr(v: number): string {
  if (v === 0) return '';
  if (v === -1) return 'max';
  return String(v);
}

function applyMemoryV2(dir: string, m: NonNullable<LinuxResources['memory']>): void {
  const limit = m.limit ?? 0;
  const swap = m.swap ?? 0;
  const reservation = m.reservation ?? 0;
  if (!limit && !swap && !reservation) return;
  if (m.checkBeforeUpdate && limit > 0) {
    const usage = parseUint(cgReadOpt(dir, 'memory.current'));
    if (usage >= limit) throw new TsociError(`cgroup: rejecting memory limit ${limit} below current usage ${usage}`);
  }
  const sw = swapToV2(swap, limit);
  let swapStr = numToStr(sw);
  if (swapStr === '' && sw === 0 && swap > 0) swapStr = '0';
  if (swapStr !== '') {
    const code = cgTryWrite(dir, 'memory.swap.max', swapStr);
    if (code && !(code === 'ENOENT' && (swapStr === 'max' || swapStr === '0'))) {
      throw cgError('write', path.join(dir, 'memory.swap.max'), { code });
    }
  }
  const l = numToStr(limit);
  if (l) cgWrite(dir, 'memory.max', l);
  const low = numToStr(reservation);
  if (low) cgWrite(dir, 'memory.low', low);
}

function applyCpuV2(dir: string, c: NonNullable<LinuxResources['cpu']>): void {
  if (c.realtimePeriod || c.realtimeRuntime) {
    throw new TsociError('cgroup: realtimeRuntime/realtimePeriod are not supported on cgroup v2');
  }
  if (c.idle !== undefined && c.idle !== null) cgWrite(dir, 'cpu.idle', String(c.idle));
  if (c.shares) cgWrite(dir, 'cpu.weight', String(sharesToWeight(c.shares)));
  let pendingBurst = '';
  if (c.burst !== undefined && c.burst !== null) {
    const code = cgTryWrite(dir, 'cpu.max.burst', String(c.burst));
    if (code) {
      if (code !== 'EINVAL' || !c.quota) throw cgError('write', path.join(dir, 'cpu.max.burst'), { code });
      pendingBurst = String(c.burst);
    }
  }
  if (c.quota || c.period) {
    const q = c.quota && c.quota > 0 ? String(c.quota) : 'max';
    cgWrite(dir, 'cpu.max', `${q} ${c.period || 100000}`);
    if (pendingBurst) cgWrite(dir, 'cpu.max.burst', pendingBurst);
  }
  if (c.cpus) cgWrite(dir, 'cpuset.cpus', c.cpus);
  if (c.mems) cgWrite(dir, 'cpuset.mems', c.mems);
}

function applyIoV2(dir: string, b: NonNullable<LinuxResources['blockIO']>): void {
  const bfq = exists(path.join(dir, 'io.bfq.weight'));
  if (b.weight) {
    if (bfq) cgWrite(dir, 'io.bfq.weight', String(b.weight));
    else cgWrite(dir, 'io.weight', String(blkioWeightToIoWeight(b.weight)));
  }
  for (const wd of b.weightDevice ?? []) {
    if (!wd.weight) continue;
    if (bfq) cgWrite(dir, 'io.bfq.weight', `${wd.major}:${wd.minor} ${wd.weight}`);
    else cgWrite(dir, 'io.weight', `${wd.major}:${wd.minor} ${blkioWeightToIoWeight(wd.weight)}`);
  }
  const throttle: [keyof typeof b, string][] = [
    ['throttleReadBpsDevice', 'rbps'],
    ['throttleWriteBpsDevice', 'wbps'],
    ['throttleReadIOPSDevice', 'riops'],
    ['throttleWriteIOPSDevice', 'wiops'],
  ];
  for (const [key, name] of throttle) {
    for (const td of (b[key] as { major: number; minor: number; rate: number }[] | undefined) ?? []) {
      cgWrite(dir, 'io.max', `${td.major}:${td.minor} ${name}=${td.rate}`);
    }
  }
}

function applyHugetlbV2(dir: string, limits: NonNullable<LinuxResources['hugepageLimits']>): void {
  let skipRsvd = false;
  for (const h of limits) {
    cgWrite(dir, `hugetlb.${h.pageSize}.max`, String(h.limit));
    if (skipRsvd) continue;
    const code = cgTryWrite(dir, `hugetlb.${h.pageSize}.rsvd.max`, String(h.limit));
    if (code === 'ENOENT') skipRsvd = true;
    else if (code) throw cgError('write', path.join(dir, `hugetlb.${h.pageSize}.rsvd.max`), { code });
  }
}

function applyUnified(dir: string, unified: Record<string, string>): void {
  for (const [key, value] of Object.entries(unified)) {
    if (!key || key.includes('/') || key.startsWith('.') || key.startsWith('cgroup.procs') || key === 'cgroup.threads') {
      throw new TsociError(`cgroup: unified resource ${JSON.stringify(key)} is not a valid cgroup v2 file name`);
    }
    const code = cgTryWrite(dir, key, value);
    if (!code) continue;
    if (code === 'ENOENT') {
      const controller = key.split('.')[0];
      throw new TsociError(`cgroup: unified resource ${JSON.stringify(key)} can't be set: controller ${JSON.stringify(controller)} not available (no ${path.join(dir, key)})`, 'ENOENT');
    }
    throw cgError('write', path.join(dir, key), { code });
  }
}

export interface ApplyV2Options {
  /** true for `update`: the device filter is only replaced when the request lists rules */
  update?: boolean;
  /** rootless: a device filter that cannot be loaded is skipped (as v1 skips the rules) */
  rootless?: boolean;
}

export function applyResourcesV2(dir: string, r: LinuxResources | undefined, opts: ApplyV2Options = {}): void {
  if (!opts.update || r?.devices !== undefined) applyDevicesV2(dir, r?.devices ?? undefined, { rootless: opts.rootless });
  if (!r) return;
  if (r.pids && r.pids.limit !== undefined && r.pids.limit !== null) cgWrite(dir, 'pids.max', pidsMaxValue(r.pids.limit));
  if (r.memory) applyMemoryV2(dir, r.memory);
  if (r.blockIO) applyIoV2(dir, r.blockIO);
  if (r.cpu) applyCpuV2(dir, r.cpu);
  if (r.hugepageLimits && r.hugepageLimits.length > 0) applyHugetlbV2(dir, r.hugepageLimits);
  if (r.rdma) for (const l of rdmaLines(r.rdma)) cgWrite(dir, 'rdma.max', l);
  // network.classID / priorities: net_cls and net_prio have no v2 counterpart; ignored (as runc)
  if (r.unified) applyUnified(dir, r.unified);
}
