import * as fs from 'fs';
import type { LinuxResources } from '../spec/types';
import { TsociError, sysError } from '../util/errors';
import { ramInBytes } from '../util/units';

/**
 * The LinuxResources an `update` asks for: the --resources document (a file, or "-" for
 * stdin), or else one built from runc's per-knob flags. Numbers are parsed like runc:
 * unsigned for period/burst/shares/rt-period, signed for quota/rt-runtime, memory sizes
 * with units ("512m") or -1, integers for blkio-weight and pids-limit.
 */
export function resourcesFromArgs(a: Record<string, unknown>): LinuxResources {
  const str = (k: string): string | undefined => (a[k] === undefined || a[k] === null ? undefined : String(a[k]));
  const file = str('resources');
  if (file) {
    let text: string;
    try {
      text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
    } catch (err) {
      throw sysError('open', file === '-' ? 'stdin' : file, err);
    }
    try {
      const r = JSON.parse(text);
      if (!r || typeof r !== 'object' || Array.isArray(r)) throw new Error('not a JSON object');
      return r as LinuxResources;
    } catch (err) {
      throw new TsociError(`invalid resources JSON in ${file === '-' ? 'stdin' : file}: ${(err as Error).message}`);
    }
  }
  const r: LinuxResources = {};
  const cpu: NonNullable<LinuxResources['cpu']> = {};
  const memory: NonNullable<LinuxResources['memory']> = {};
  const int = (k: string, v: string, unsigned: boolean): number => {
    if (!(unsigned ? /^\+?\d+$/ : /^[+-]?\d+$/).test(v)) throw new TsociError(`invalid value for ${k}: parsing ${JSON.stringify(v)}: invalid syntax`);
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new TsociError(`invalid value for ${k}: parsing ${JSON.stringify(v)}: value out of range`);
    return n;
  };
  const bw = str('blkio-weight');
  if (bw !== undefined) {
    const w = int('blkio-weight', bw, false);
    if (w !== 0) r.blockIO = { weight: w };
  }
  if (str('cpuset-cpus')) cpu.cpus = str('cpuset-cpus');
  if (str('cpuset-mems')) cpu.mems = str('cpuset-mems');
  const idle = str('cpu-idle');
  if (idle) cpu.idle = int('cpu-idle', idle, false);
  for (const [flag, key] of [['cpu-burst', 'burst'], ['cpu-period', 'period'], ['cpu-rt-period', 'realtimePeriod'], ['cpu-share', 'shares']] as const) {
    const v = str(flag);
    if (v) cpu[key] = int(flag, v, true);
  }
  for (const [flag, key] of [['cpu-quota', 'quota'], ['cpu-rt-runtime', 'realtimeRuntime']] as const) {
    const v = str(flag);
    if (v) cpu[key] = int(flag, v, false);
  }
  for (const [flag, key] of [['memory', 'limit'], ['memory-swap', 'swap'], ['memory-reservation', 'reservation']] as const) {
    const v = str(flag);
    if (!v) continue;
    try {
      memory[key] = v === '-1' ? -1 : ramInBytes(v);
    } catch (err) {
      throw new TsociError(`invalid value for ${flag}: ${(err as Error).message}`);
    }
  }
  const pids = str('pids-limit');
  if (pids !== undefined) r.pids = { limit: int('pids-limit', pids, false) };
  if (Object.keys(cpu).length > 0) r.cpu = cpu;
  if (Object.keys(memory).length > 0) r.memory = memory;
  return r;
}
