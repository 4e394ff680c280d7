import { TsociError } from './errors';

/** Linux signal numbers (x86_64 / arm64 share these). */
export const SIGNALS: Record<string, number> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, IOT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10,
  SEGV: 11, USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CONT: 18, STOP: 19,
  TSTP: 20, TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28,
  IO: 29, POLL: 29, PWR: 30, SYS: 31,
};
const SIGRTMIN = 34;
const SIGRTMAX = 64;

/** Accepts "9", "KILL", "SIGKILL", "sigkill", "RTMIN+3", "SIGRTMAX-1". */
export function parseSignal(text: string): number {
  const s = String(text).trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    // 0 checks that the process exists (runc accepts it too)
    if (n >= 0 && n <= SIGRTMAX) return n;
    throw new TsociError(`invalid signal "${text}": out of range`);
  }
  const name = s.toUpperCase().replace(/^SIG/, '');
  if (name in SIGNALS) return SIGNALS[name];
  const rt = /^RT(MIN|MAX)([+-]\d+)?$/.exec(name);
  if (rt) {
    const n = (rt[1] === 'MIN' ? SIGRTMIN : SIGRTMAX) + Number(rt[2] ?? 0);
    if (n >= SIGRTMIN && n <= SIGRTMAX) return n;
  }
  throw new TsociError(`invalid signal "${text}"`);
}

export function signalName(n: number): string {
  for (const [name, num] of Object.entries(SIGNALS)) if (num === n) return `SIG${name}`;
  return `signal ${n}`;
}
