import * as path from 'path';

/** The compiled addon's surface (cpp/addon). Every call returns 0 or an errno number. */
export interface NativeAddon {
  flock(fd: number, exclusive: boolean, nonblocking: boolean): number;
  waitForExit(pid: number, timeoutMs: number): number;
  pidfdKill(pid: number, signal: number): number;
  setChildSubreaper(): number;
  mkfifo(path: string, mode: number): number;
  reapChild(pid: number): number;
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

const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 3: 'ESRCH', 4: 'EINTR', 9: 'EBADF', 11: 'EAGAIN', 13: 'EACCES',
  16: 'EBUSY', 17: 'EEXIST', 22: 'EINVAL', 110: 'ETIMEDOUT',
};
export function errnoName(n: number): string {
  return ERRNO_NAMES[n] ?? `errno ${n}`;
}
