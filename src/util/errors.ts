/**
 * The one error type tsoci reports to users: which operation failed, on what, and why.
 * The CLI prints `message` (never a stack trace) and exits 1.
 */
export class TsociError extends Error {
  constructor(
    message: string,
    /** errno name or number text when a system call failed, e.g. "ENOENT" */
    public readonly code?: string,
  ) {
    super(message);
    this.name = 'TsociError';
  }
}

/** Wrap a Node system error: "<op> <path>: <strerror text>". */
export function sysError(op: string, path: string, err: unknown): TsociError {
  const e = err as NodeJS.ErrnoException;
  const why = e && e.code ? `${describeErrno(e.code)}` : String(err);
  return new TsociError(`${op} ${path}: ${why}`, e?.code);
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'file exists',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EINVAL: 'invalid argument',
  ESRCH: 'no such process',
  EBUSY: 'device or resource busy',
  ENOSPC: 'no space left on device',
  ELOOP: 'too many levels of symbolic links',
  EROFS: 'read-only file system',
  EAGAIN: 'resource temporarily unavailable',
  ENOEXEC: 'exec format error',
  ETXTBSY: 'text file busy',
  E2BIG: 'argument list too long',
};

/** The errno's text alone, as Go prints it ("no such file or directory"). */
export function errnoText(code: string): string {
  return ERRNO_TEXT[code] ?? code;
}

export function describeErrno(code: string): string {
  return ERRNO_TEXT[code] ? `${ERRNO_TEXT[code]} (${code})` : code;
}
