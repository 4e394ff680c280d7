import * as fs from 'fs';
import * as path from 'path';
import { TsociError } from '../util/errors';

/** Debian 12's 3.17 cannot dump on current kernels ("vdso: Failed to fill self vdso symtable"). */
export const CRIU_MIN_VERSION = [3, 19] as const;

/** Where scripts/build-criu.sh builds CRIU: <cache>/<version>/criu. */
export function criuCacheDir(): string {
  return process.env.TSOCI_CRIU_CACHE || '/var/cache/tsoci-criu';
}

/**
 * The criu to run: --criu PATH when given, else the newest build in the cache, else criu in
 * $PATH. The version is checked later, over RPC (see checkVersion in swrk.ts).
 */
export function findCriu(explicit?: string): string {
  if (explicit) {
    const p = explicit.includes('/') ? path.resolve(explicit) : searchPath(explicit);
    if (!p || !isExecutable(p)) throw new TsociError(`criu ${explicit}: not found or not executable (--criu)`);
    return p;
  }
  const cached = newestCached();
  if (cached) return cached;
  const onPath = searchPath('criu');
  if (onPath) return onPath;
  throw new TsociError(
    `criu not found (looked in ${criuCacheDir()}/<version>/criu and $PATH): checkpoint/restore needs criu ${CRIU_MIN_VERSION.join('.')} or later (scripts/build-criu.sh builds one)`,
  );
}

function newestCached(): string | undefined {
  let versions: string[];
  try {
    versions = fs.readdirSync(criuCacheDir());
  } catch {
    return undefined;
  }
  const byVersion = versions
    .map((v) => ({ v, n: v.split('.').map((x) => parseInt(x, 10) || 0) }))
    .sort((a, b) => compareVersions(b.n, a.n));
  for (const { v } of byVersion) {
    const p = path.join(criuCacheDir(), v, 'criu');
    if (isExecutable(p)) return p;
  }
  return undefined;
}

export function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

function searchPath(name: string): string | undefined {
  for (const dir of (process.env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (!dir) continue;
    const p = path.join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * For `features`: "<path> <version>" of the CRIU checkpoint/restore would use, or why there
 * is none (from `criu --version`: `features` does not talk RPC).
 */
export function describeCriu(): string {
  let binary: string;
  try {
    binary = findCriu();
  } catch {
    return 'unavailable: criu not found';
  }
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { spawnSync } = require('child_process') as typeof import('child_process');
  const r = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 5000 });
  const version = /Version: *(\S+)/.exec(r.stdout ?? '')?.[1];
  if (!version) return `unavailable: ${binary} --version failed`;
  const numbers = version.split('.').map((n) => parseInt(n, 10) || 0);
  if (compareVersions(numbers, CRIU_MIN_VERSION) < 0) return `unavailable: ${binary} is ${version}, ${CRIU_MIN_VERSION.join('.')} or later is needed`;
  return `${binary} ${version}`;
}
