import * as path from 'path';
import { TsociError } from '../util/errors';

/**
 * The default root does not depend on flags (podman calls `state` with no global flags):
 * root → /run/tsoci; an unprivileged user → $XDG_RUNTIME_DIR/tsoci.
 */
export function defaultRoot(): string {
  if (process.geteuid?.() === 0) return '/run/tsoci';
  const xdg = process.env.XDG_RUNTIME_DIR;
  return xdg ? path.join(xdg, 'tsoci') : `/tmp/tsoci-${process.geteuid?.() ?? 0}`;
}

/** runc's rule: ids are non-empty, no "/", not "." or "..", at most 1024 bytes. */
export function checkId(id: string): void {
  if (id === undefined || id === '') throw new TsociError('invalid container id: id must not be empty');
  if (id.includes('/') || id === '.' || id === '..' || id.includes('\0')) {
    throw new TsociError(`invalid container id "${id}": must not contain "/" or NUL, or be "." or ".."`);
  }
  if (Buffer.byteLength(id) > 1024) throw new TsociError('invalid container id: longer than 1024 bytes');
  // the root's dot entries are tsoci's own (.seccomp-cache); no client's ids start with a dot
  if (id.startsWith('.')) throw new TsociError(`invalid container id "${id}": must not start with "." (reserved for the runtime)`);
}

export function containerDir(root: string, id: string): string {
  return path.join(root, id);
}
