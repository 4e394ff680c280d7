import * as fs from 'fs';

export interface ProcStat {
  /** one-letter state: R, S, D, Z, T, … */
  state: string;
  /** field 22: start time in clock ticks since boot (identifies a pid across reuse) */
  startTime: string;
}

/** Reads /proc/<pid>/stat; undefined when the process does not exist. */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // comm may contain spaces and parentheses: fields resume after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0], startTime: rest[19] };
}

/** True when `pid` is the same living process that had `startTime` (not a reused pid, not a zombie). */
export function isSameProcessAlive(pid: number, startTime: string | undefined): boolean {
  if (!pid) return false;
  const st = readProcStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return false;
  return startTime === undefined || st.startTime === startTime;
}
