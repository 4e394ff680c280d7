import * as path from 'path';
import * as fs from 'fs';
import { defaultRootFor, identity } from '../rootless/detect';
import { sysError, TsociError } from '../util/errors';

/**
 * The default root does not depend on flags (podman calls `state` with no global flags):
 * runc's rule (src/rootless/detect.ts): $XDG_RUNTIME_DIR/tsoci for an unprivileged user or
 * root in a user namespace (rootless podman), /run/tsoci otherwise.
 */
export function defaultRoot(): string {
  return defaultRootFor(identity(), process.env).root;
}

/**
 * The root a command uses: --root as given, else the default; the XDG one is made here
 * (0700 and sticky, so the XDG cleaner leaves it alone, as runc does), with an error that
 * says what to fix when it cannot be.
 */
export function resolveRoot(flag: string | undefined): string {
  if (flag) return flag;
  const d = defaultRootFor(identity(), process.env);
  if (d.xdg && !fs.existsSync(d.root)) {
    try {
      fs.mkdirSync(d.root, { recursive: true, mode: 0o700 });
      fs.chmodSync(d.root, 0o1700);
    } catch (err) {
      const e = sysError('create state root', d.root, err);
      throw new TsociError(`${e.message}: the path in $XDG_RUNTIME_DIR must be writable by the user (or pass --root)`, e.code);
    }
  }
  return d.root;
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
