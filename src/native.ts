import * as path from 'path';
import { getSystemErrorName } from 'util';

/** The compiled addon's surface (cpp/addon). Every call returns 0 or an errno number. */
export interface NativeAddon {
  flock(fd: number, exclusive: boolean, nonblocking: boolean): number;
  /** an exclusive flock, retried until timeoutMs: 0, ETIMEDOUT or another errno */
  flockWait(fd: number, timeoutMs: number): number;
  waitForExit(pid: number, timeoutMs: number): number;
  pidfdKill(pid: number, signal: number): number;
  /** --pidfd-socket: a pidfd of pid sent to the unix socket at path */
  pidfdSend(path: string, pid: number): 0 | { errno: number; error: string };
  setChildSubreaper(): number;
  /** this process's soft RLIMIT_NOFILE: 0 or errno */
  setNofileSoft(soft: number): number;
  mkfifo(path: string, mode: number): number;
  reapChild(pid: number): number;
  /** tsoci-init with fds 0..2 and 3..3+preserveFds-1 inherited, and its sync socket at 3+preserveFds */
  spawnInit(path: string, argv0: string, env: string[], preserveFds: number): { pid: number; fd: number } | NativeFailure;
  waitChild(pid: number): Promise<ChildExit | NativeFailure>;
  waitChildSync(pid: number): ChildExit | NativeFailure;
}

export interface NativeFailure {
  errno: number;
  step: string;
}

/** How a child ended: an exit code, or the number of the signal that killed it. */
export interface ChildExit {
  code: number | null;
  signal: number | null;
}

/** build/Release holds tsoci.node and tsoci-init; the bundle lives in dist/, sources in src/. */
export const nativeDir = path.join(__dirname, '..', 'build', 'Release');
export const initBinary = path.join(nativeDir, 'tsoci-init');

let addon: NativeAddon | undefined;
export function native(): NativeAddon {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  addon ??= require(path.join(nativeDir, 'tsoci.node')) as NativeAddon;
  return addon;
}

export function errnoName(n: number): string {
  try {
    return getSystemErrorName(-n);
  } catch {
    return `errno ${n}`;
  }
}
