/**
 * `events --stats` data in runc's shape (runc types/events.go: field names and omitempty
 * rules), read from the container's cgroup files. Missing files give zero values.
 *
 * Counters are uint64 in the kernel; values above 2^53 (v1 "unlimited" is 2^63−4096, v2
 * "max" is reported as 2^64−1 like runc) cannot be exact JavaScript numbers.
 * cgroupStats() returns plain numbers (exact up to 2^53); cgroupStatsJSON() returns the JSON
 * text with every integer exact (use it for output).
 */
import * as fs from 'fs';
import * as path from 'path';
import { cgReadOpt } from './files';
import type { CgroupPaths } from './paths';
import { isV1Paths } from './manage';

type U64 = number | bigint;
const MAX_U64 = 18446744073709551615n;
const USER_HZ = 100;

function u64(text: string | undefined): U64 {
  if (text === undefined) return 0;
  const t = text.trim();
  if (t === 'max') return MAX_U64;
  if (!/^\d+$/.test(t)) return 0;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : BigInt(t);
}
const isZero = (v: unknown) => v === 0 || v === 0n || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);
function omitZero<T extends Record<string, unknown>>(o: T, keys: (keyof T)[]): T {
  for (const k of keys) if (isZero(o[k])) delete o[k];
  return o;
}
function add(a: U64, b: U64): U64 {
  const s = BigInt(a) + BigInt(b);
  return s <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s) : s;
}
function mul(a: U64, b: number): U64 {
  return add(BigInt(a) * BigInt(b), 0);
}

function readKeyValues(dir: string | undefined, file: string): Record<string, U64> {
  const out: Record<string, U64> = {};
  const text = dir ? cgReadOpt(dir, file) : undefined;
  if (!text) return out;
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out[k] = u64(v);
  }
  return out;
}
function readU64(dir: string | undefined, file: string): U64 {
  return dir ? u64(cgReadOpt(dir, file)) : 0;
}

function memEntry(usage: U64, max: U64, failcnt: U64, limit: U64) {
  return omitZero({ limit, usage, max, failcnt } as Record<string, U64>, ['usage', 'max']);
}

function cpusetList(text: string | undefined): number[] {
  const out: number[] = [];
  for (const part of (text ?? '').split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-').map(Number);
    for (let i = a; i <= (b ?? a); i++) out.push(i);
  }
  return out;
}

function hugePageSizes(): string[] {
  try {
    return fs
      .readdirSync('/sys/kernel/mm/hugepages')
      .map((n) => /^hugepages-(\d+)kB$/.exec(n))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => {
        let kb = Number(m[1]);
        const units = ['KB', 'MB', 'GB', 'TB'];
        let u = 0;
        while (kb >= 1024 && kb % 1024 === 0 && u < units.length - 1) {
          kb /= 1024;
          u++;
        }
        return `${kb}${units[u]}`;
      });
  } catch {
    return [];
  }
}

function blkioEntries(dir: string | undefined, file: string) {
  const text = dir ? cgReadOpt(dir, file) : undefined;
  const out: Record<string, U64 | string>[] = [];
  for (const line of (text ?? '').split('\n')) {
    const f = line.trim().split(/[\s:]+/);
    if (f.length < 3 || f[0] === 'Total') continue;
    const e: Record<string, U64 | string> = { major: u64(f[0]), minor: u64(f[1]) };
    if (f.length === 3) e.value = u64(f[2]);
    else {
      e.op = f[2];
      e.value = u64(f[3]);
    }
    out.push(omitZero(e, ['major', 'minor', 'op', 'value']));
  }
  return out;
}

function statsV1(paths: CgroupPaths) {
  const acct = paths.cpuacct;
  const percpu = (cgReadOpt(acct ?? '', 'cpuacct.usage_percpu') ?? '').split(/\s+/).filter(Boolean).map(u64);
  const perK: U64[] = [];
  const perU: U64[] = [];
  for (const line of (acct ? cgReadOpt(acct, 'cpuacct.usage_all') ?? '' : '').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 3) {
      perU.push(u64(f[1]));
      perK.push(u64(f[2]));
    }
  }
  const cstat = readKeyValues(acct, 'cpuacct.stat');
  const toNs = (ticks: U64) => mul(ticks, 1e9 / USER_HZ);
  const thr = readKeyValues(paths.cpu, 'cpu.stat');
  const cpu = {
    usage: omitZero(
      { total: readU64(acct, 'cpuacct.usage'), percpu, percpu_kernel: perK, percpu_user: perU, kernel: toNs(cstat.system ?? 0), user: toNs(cstat.user ?? 0) } as Record<string, unknown>,
      ['total', 'percpu', 'percpu_kernel', 'percpu_user'],
    ),
    throttling: omitZero({ periods: thr.nr_periods ?? 0, throttledPeriods: thr.nr_throttled ?? 0, throttledTime: thr.throttled_time ?? 0 } as Record<string, U64>, [
      'periods',
      'throttledPeriods',
      'throttledTime',
    ]),
  };
  const m = paths.memory;
  const raw = readKeyValues(m, 'memory.stat');
  const md = (prefix: string) =>
    memEntry(readU64(m, `${prefix}.usage_in_bytes`), readU64(m, `${prefix}.max_usage_in_bytes`), readU64(m, `${prefix}.failcnt`), readU64(m, `${prefix}.limit_in_bytes`));
  const memory = omitZero(
    { cache: raw.cache ?? 0, usage: md('memory'), swap: md('memory.memsw'), kernel: md('memory.kmem'), kernelTCP: md('memory.kmem.tcp'), raw } as Record<string, unknown>,
    ['cache'],
  );
  if (Object.keys(raw).length === 0) delete memory.raw;
  const pidsMax = readU64(paths.pids, 'pids.max');
  const pids = omitZero({ current: readU64(paths.pids, 'pids.current'), limit: pidsMax === MAX_U64 ? 0 : pidsMax } as Record<string, U64>, ['current', 'limit']);
  const b = paths.blkio;
  const blkio: Record<string, unknown> = {};
  const files: [string, string][] = b && fs.existsSync(path.join(b, 'blkio.io_service_bytes_recursive'))
    ? [
        ['ioServiceBytesRecursive', 'blkio.io_service_bytes_recursive'],
        ['ioServicedRecursive', 'blkio.io_serviced_recursive'],
        ['ioQueueRecursive', 'blkio.io_queued_recursive'],
        ['ioServiceTimeRecursive', 'blkio.io_service_time_recursive'],
        ['ioWaitTimeRecursive', 'blkio.io_wait_time_recursive'],
        ['ioMergedRecursive', 'blkio.io_merged_recursive'],
        ['ioTimeRecursive', 'blkio.time_recursive'],
        ['sectorsRecursive', 'blkio.sectors_recursive'],
      ]
    : b && fs.existsSync(path.join(b, 'blkio.bfq.io_service_bytes_recursive'))
      ? [
          ['ioServiceBytesRecursive', 'blkio.bfq.io_service_bytes_recursive'],
          ['ioServicedRecursive', 'blkio.bfq.io_serviced_recursive'],
        ]
      : [
          ['ioServiceBytesRecursive', 'blkio.throttle.io_service_bytes_recursive'],
          ['ioServicedRecursive', 'blkio.throttle.io_serviced_recursive'],
        ];
  for (const [k, f] of files) {
    const e = blkioEntries(b, f);
    if (e.length) blkio[k] = e;
  }
  const hugetlb: Record<string, unknown> = {};
  if (paths.hugetlb) {
    for (const size of hugePageSizes()) {
      const p = `hugetlb.${size}`;
      hugetlb[size] = omitZero({ usage: readU64(paths.hugetlb, `${p}.usage_in_bytes`), max: readU64(paths.hugetlb, `${p}.max_usage_in_bytes`), failcnt: readU64(paths.hugetlb, `${p}.failcnt`) } as Record<string, U64>, ['usage', 'max']);
    }
  }
  const cs = paths.cpuset;
  const cpuset = omitZero(
    {
      cpus: cpusetList(cs ? cgReadOpt(cs, 'cpuset.cpus') : ''),
      cpu_exclusive: readU64(cs, 'cpuset.cpu_exclusive'),
      mems: cpusetList(cs ? cgReadOpt(cs, 'cpuset.mems') : ''),
      mem_hardwall: readU64(cs, 'cpuset.mem_hardwall'),
      mem_exclusive: readU64(cs, 'cpuset.mem_exclusive'),
      memory_migrate: readU64(cs, 'cpuset.memory_migrate'),
      memory_spread_page: readU64(cs, 'cpuset.memory_spread_page'),
      memory_spread_slab: readU64(cs, 'cpuset.memory_spread_slab'),
      memory_pressure: readU64(cs, 'cpuset.memory_pressure'),
      sched_load_balance: readU64(cs, 'cpuset.sched_load_balance'),
      sched_relax_domain_level: Number(cs ? cgReadOpt(cs, 'cpuset.sched_relax_domain_level') ?? 0 : 0),
    } as Record<string, unknown>,
    ['cpus', 'mems'],
  );
  return { cpu, cpuset, memory, pids, blkio, hugetlb, intel_rdt: {}, network_interfaces: null };
}

function statsV2(dir: string) {
  const cs = readKeyValues(dir, 'cpu.stat');
  const ns = (v: U64 | undefined) => mul(v ?? 0, 1000);
  const cpu = {
    usage: omitZero({ total: ns(cs.usage_usec), kernel: ns(cs.system_usec), user: ns(cs.user_usec) } as Record<string, unknown>, ['total']),
    throttling: omitZero({ periods: cs.nr_periods ?? 0, throttledPeriods: cs.nr_throttled ?? 0, throttledTime: ns(cs.throttled_usec) } as Record<string, U64>, [
      'periods',
      'throttledPeriods',
      'throttledTime',
    ]),
  };
  const raw = readKeyValues(dir, 'memory.stat');
  const events = readKeyValues(dir, 'memory.events');
  const usage = memEntry(readU64(dir, 'memory.current'), readU64(dir, 'memory.peak'), events.max ?? 0, readU64(dir, 'memory.max'));
  const swapEvents = readKeyValues(dir, 'memory.swap.events');
  const swapCur = readU64(dir, 'memory.swap.current');
  const swapMax = readU64(dir, 'memory.swap.max');
  const memLimit = readU64(dir, 'memory.max');
  const swapLimit = swapMax === MAX_U64 || memLimit === MAX_U64 ? MAX_U64 : add(swapMax, memLimit);
  const swap = memEntry(add(swapCur, readU64(dir, 'memory.current')), readU64(dir, 'memory.swap.peak'), swapEvents.max ?? 0, swapLimit);
  const memory = omitZero({ cache: raw.file ?? 0, usage, swap, kernel: memEntry(0, 0, 0, 0), kernelTCP: memEntry(0, 0, 0, 0), raw } as Record<string, unknown>, ['cache']);
  if (Object.keys(raw).length === 0) delete memory.raw;
  const pidsMax = readU64(dir, 'pids.max');
  const pids = omitZero({ current: readU64(dir, 'pids.current'), limit: pidsMax === MAX_U64 ? 0 : pidsMax } as Record<string, U64>, ['current', 'limit']);
  const bytes: Record<string, U64 | string>[] = [];
  const ios: Record<string, U64 | string>[] = [];
  for (const line of (cgReadOpt(dir, 'io.stat') ?? '').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (!f[0] || !f[0].includes(':')) continue;
    const [maj, min] = f[0].split(':').map((x) => u64(x));
    for (const kv of f.slice(1)) {
      const [k, v] = kv.split('=');
      const entry = (op: string) => omitZero({ major: maj, minor: min, op, value: u64(v) } as Record<string, U64 | string>, ['major', 'minor', 'value']);
      if (k === 'rbytes') bytes.push(entry('Read'));
      else if (k === 'wbytes') bytes.push(entry('Write'));
      else if (k === 'rios') ios.push(entry('Read'));
      else if (k === 'wios') ios.push(entry('Write'));
    }
  }
  const blkio: Record<string, unknown> = {};
  if (bytes.length) blkio.ioServiceBytesRecursive = bytes;
  if (ios.length) blkio.ioServicedRecursive = ios;
  const hugetlb: Record<string, unknown> = {};
  for (const size of hugePageSizes()) {
    if (cgReadOpt(dir, `hugetlb.${size}.current`) === undefined) continue;
    const ev = readKeyValues(dir, `hugetlb.${size}.events`);
    hugetlb[size] = omitZero({ usage: readU64(dir, `hugetlb.${size}.current`), failcnt: ev.max ?? 0 } as Record<string, U64>, ['usage']);
  }
  const cpuset = omitZero(
    { cpus: cpusetList(cgReadOpt(dir, 'cpuset.cpus.effective')), cpu_exclusive: 0, mems: cpusetList(cgReadOpt(dir, 'cpuset.mems.effective')), mem_hardwall: 0, mem_exclusive: 0, memory_migrate: 0, memory_spread_page: 0, memory_spread_slab: 0, memory_pressure: 0, sched_load_balance: 0, sched_relax_domain_level: 0 } as Record<string, unknown>,
    ['cpus', 'mems'],
  );
  return { cpu, cpuset, memory, pids, blkio, hugetlb, intel_rdt: {}, network_interfaces: null };
}

function build(paths: CgroupPaths) {
  return isV1Paths(paths) ? statsV1(paths) : paths[''] ? statsV2(paths['']) : statsV1({});
}

function toNumbers(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(toNumbers);
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = toNumbers(x);
    return o;
  }
  return v;
}

/** runc's `events --stats` "data" object (numbers beyond 2^53 are rounded: see cgroupStatsJSON). */
export function cgroupStats(paths: CgroupPaths): object {
  return toNumbers(build(paths)) as object;
}

/** The same as JSON text, every uint64 exact. */
export function cgroupStatsJSON(paths: CgroupPaths): string {
  return stringifyExact(build(paths));
}

/** JSON.stringify that writes bigint values as plain integers. */
export function stringifyExact(v: unknown): string {
  const marks: string[] = [];
  const text = JSON.stringify(v, (_k, x) => {
    if (typeof x === 'bigint') {
      marks.push(x.toString());
      return `\u0000big${marks.length - 1}\u0000`;
    }
    return x;
  });
  return text.replace(/"\\u0000big(\d+)\\u0000"/g, (_m, i: string) => marks[Number(i)]);
}
