// The warm pool for the benchmark: started by the bench in a directory of its own, and the
// wrappers that give a client (dockerd's shim, conmon) tsoci cold or warm whatever its env.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const POOL_DIR = '/run/tsoci-bench-warm';
/** a directory with no pool: tsoci goes cold */
export const NO_POOL_DIR = '/run/tsoci-bench-no-pool';

function warm(tsoci, args) {
  return spawnSync(tsoci, ['warm', ...args], { env: { ...process.env, TSOCI_WARM_DIR: POOL_DIR }, encoding: 'utf8' });
}

/** Starts the pool; returns undefined, or why it could not (the warm column is then left out). */
export function startPool(tsoci, workers = 2) {
  if (fs.existsSync(path.join(POOL_DIR, 'supervisor.pid'))) warm(tsoci, ['stop']);
  const r = warm(tsoci, ['start', '--workers', String(workers)]);
  return r.status === 0 ? undefined : (r.stderr.trim() || `exit ${r.status}`);
}

export function poolStatus(tsoci) {
  const r = warm(tsoci, ['status', '--format', 'json']);
  return r.status === 0 ? JSON.parse(r.stdout) : undefined;
}

export function stopPool(tsoci) {
  warm(tsoci, ['stop']);
}

/** Waits until the pool has all its workers ready again (a command's replacement is loading). */
export function settle(tsoci, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const s = poolStatus(tsoci);
    if (!s || s.workers.filter((w) => w.state === 'ready').length >= s.workersWanted) return;
    spawnSync('sleep', ['0.02']);
  }
}

/** An executable named `tsoci` in dir/<kind>/ that runs bin/tsoci with or without the pool. */
export function wrapper(dir, kind, tsoci) {
  const d = path.join(dir, kind);
  fs.mkdirSync(d, { recursive: true, mode: 0o755 });
  const file = path.join(d, 'tsoci');
  fs.writeFileSync(file, `#!/bin/sh\nTSOCI_WARM_DIR=${kind === 'warm' ? POOL_DIR : NO_POOL_DIR} exec ${tsoci} "$@"\n`, { mode: 0o755 });
  return file;
}
