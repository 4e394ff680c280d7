/**
 * Small cgroupfs file helpers shared by the drivers. cgroupfs is files: every control is a
 * write(2) of one value to one file; the kernel answers each write separately, so each value
 * is written with its own open/write/close (O_WRONLY|O_TRUNC, never O_CREAT: kernfs files
 * cannot be created and a missing file must fail with ENOENT). Node opens fds close-on-exec.
 */
import * as fs from 'fs';
import * as path from 'path';
import { TsociError, describeErrno } from '../util/errors';

/** `cgroup: <op> <path>: <errno text> (<CODE>)` */
export function cgError(op: string, p: string, err: unknown): TsociError {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string') return new TsociError(`cgroup: ${op} ${p}: ${describeErrno(e.code)}`, e.code);
  return new TsociError(`cgroup: ${op} ${p}: ${String((e && e.message) || err)}`);
}

export function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Writes one value; throws TsociError naming the file and the errno. */
export function cgWrite(dir: string, file: string, value: string): void {
  const code = cgTryWrite(dir, file, value);
  if (code !== undefined) throw cgError('write', path.join(dir, file), { code } as NodeJS.ErrnoException);
}

/** Writes one value; returns the errno code on failure instead of throwing. */
export function cgTryWrite(dir: string, file: string, value: string): string | undefined {
  const p = path.join(dir, file);
  let fd: number;
  try {
    fd = fs.openSync(p, fs.constants.O_WRONLY | fs.constants.O_TRUNC);
  } catch (err) {
    return errCode(err) ?? 'EIO';
  }
  try {
    fs.writeSync(fd, value);
    return undefined;
  } catch (err) {
    return errCode(err) ?? 'EIO';
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads a file, trimmed; throws TsociError. */
export function cgRead(dir: string, file: string): string {
  const p = path.join(dir, file);
  try {
    return fs.readFileSync(p, 'utf8').trim();
  } catch (err) {
    throw cgError('read', p, err);
  }
}

/** Reads a file, trimmed; undefined when it cannot be read (missing, ENODEV, …). */
export function cgReadOpt(dir: string, file: string): string | undefined {
  try {
    return fs.readFileSync(path.join(dir, file), 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function exists(p: string): boolean {
  try {
    fs.statSync(p);
    return true;
  } catch {
    return false;
  }
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Synchronous sleep (the lifecycle code is synchronous). */
export function sleepMs(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/** Parses an unsigned decimal cgroup value; "max" → Infinity; anything else → NaN. */
export function parseUint(text: string | undefined): number {
  if (text === undefined) return NaN;
  const t = text.trim();
  if (t === 'max') return Infinity;
  return /^\d+$/.test(t) ? Number(t) : NaN;
}

/** Directories of a paths map without duplicates (cpu and cpuacct may share one). */
export function uniqueDirs(paths: Record<string, string>): string[] {
  return [...new Set(Object.values(paths).filter((d) => !!d))];
}
