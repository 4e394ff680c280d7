import * as path from 'path';

/**
 * Clean a path inside the container: made absolute against "/", normalised, never above
 * "/" (a leading ".." is dropped, like filepath.Clean("/" + p)), no trailing slash.
 */
export function cleanContainerPath(p: string): string {
  const out = path.posix.normalize('/' + p);
  // normalize("/") === "/"; strip any trailing slash from everything else
  return out.length > 1 && out.endsWith('/') ? out.slice(0, -1) : out;
}

/** True when s contains a NUL byte (it cannot be passed to a system call). */
export function hasNul(s: string | undefined): boolean {
  return s !== undefined && s.includes('\0');
}
