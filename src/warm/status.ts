import * as fs from 'fs';

/** status.json: what the supervisor writes on each event and `tsoci warm status` reads. */
export interface PoolStatus {
  supervisorPid: number;
  /** the process the workers are forked from (none while it is restarted) */
  zygotePid?: number;
  socket: string;
  /** ISO time the supervisor started */
  startedAt: string;
  /** the N of `warm start --workers N` */
  workersWanted: number;
  /** running: serving; starting: until N workers were ready once; failed: workers die before ready (see reason) */
  state: 'starting' | 'running' | 'failed' | 'stopping';
  reason?: string;
  workers: WorkerStatus[];
  /** commands handed to workers, by command name */
  served: Record<string, number>;
  /** requests a worker refused (the launcher went cold), by reason */
  fallbacks: Record<string, number>;
  /** workers forked after the first N */
  respawns: number;
  /** workers or zygotes that ended before serving, in a row (reset by a ready) */
  failuresInARow: number;
}

export interface WorkerStatus {
  pid: number;
  state: 'starting' | 'ready' | 'busy';
  command?: string;
}

/** Writes the status atomically (temp file 0600, rename): a reader never sees half of it. */
export function writeStatus(file: string, s: PoolStatus): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(s, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
}

export function readStatus(file: string): PoolStatus | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as PoolStatus;
  } catch {
    return undefined;
  }
}

/** A "<name>: <n> kB" line of a /proc file, in KiB; 0 when the process is gone. */
function procKiB(file: string, name: string): number {
  try {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(fs.readFileSync(file, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Resident memory of a process in KiB (VmRSS). */
export const rssKiB = (pid: number): number => procKiB(`/proc/${pid}/status`, 'VmRSS');

/**
 * Proportional set size of a process in KiB (Pss): a forked worker shares most of its pages
 * with the zygote, and its RSS would count them again for each worker.
 */
export const pssKiB = (pid: number): number => procKiB(`/proc/${pid}/smaps_rollup`, 'Pss');

export interface PoolMemory {
  supervisorKiB: number;
  /** the zygote and its waiting workers (starting or ready; busy ones are running a command), proportionally */
  workersKiB: number;
  totalKiB: number;
}

/** The pool's memory now: the supervisor's resident set, the zygote's and idle workers' proportional sets. */
export function poolMemory(s: PoolStatus): PoolMemory {
  const supervisorKiB = rssKiB(s.supervisorPid);
  const pids = [...(s.zygotePid ? [s.zygotePid] : []), ...s.workers.filter((w) => w.state !== 'busy').map((w) => w.pid)];
  const workersKiB = pids.reduce((sum, pid) => sum + pssKiB(pid), 0);
  return { supervisorKiB, workersKiB, totalKiB: supervisorKiB + workersKiB };
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
const list = (r: Record<string, number>) => Object.entries(r).map(([k, v]) => `${k}=${v}`).join(' ');

/** The default `warm status` output: a short table. */
export function formatStatus(s: PoolStatus, mem: PoolMemory): string {
  const mib = (k: number) => `${(k / 1024).toFixed(1)} MiB`;
  const lines = [
    `supervisor  ${s.supervisorPid} (${s.state}${s.reason ? `: ${s.reason}` : ''})`,
    `zygote      ${s.zygotePid ?? 'none'}`,
    `socket      ${s.socket}`,
    `started     ${s.startedAt}`,
    `workers     ${s.workers.filter((w) => w.state === 'ready').length} ready of ${s.workersWanted}`,
    ...s.workers.map((w) => `  ${String(w.pid).padEnd(8)} ${w.state}${w.command ? ` ${w.command}` : ''}`),
    `served      ${sum(s.served)}${sum(s.served) ? ` (${list(s.served)})` : ''}`,
    `fallbacks   ${sum(s.fallbacks)}${sum(s.fallbacks) ? ` (${list(s.fallbacks)})` : ''}`,
    `respawns    ${s.respawns}`,
    `memory      ${mib(mem.totalKiB)} resident (supervisor ${mib(mem.supervisorKiB)}, zygote and idle workers ${mib(mem.workersKiB)} proportional)`,
  ];
  return lines.join('\n') + '\n';
}

export const servedTotal = (s: PoolStatus): number => sum(s.served);
export const fallbackTotal = (s: PoolStatus): number => sum(s.fallbacks);
