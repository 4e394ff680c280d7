import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { REPO, TEST_ROOT, tsoci, type Result } from './tsoci';

/** The stand-in zygote and its workers (test/fixtures): they follow the contract's events without the CLI. */
export const STANDIN_ZYGOTE = path.join(REPO, 'test', 'fixtures', 'warm-standin-zygote.js');
export const STANDIN_WORKER = path.join(REPO, 'test', 'fixtures', 'warm-standin-worker.js');
/** dies before it is ready (a broken build), as a zygote or as a worker */
export const BROKEN = path.join(REPO, 'test', 'fixtures', 'warm-standin-broken.js');

/** The pool the warm-mode suite runs with (TSOCI_TEST_WARM=1): one per test root. */
export const SUITE_POOL_DIR = `/run/tsoci-warm-${path.basename(TEST_ROOT).replace(/[^A-Za-z0-9_-]/g, '_')}`;

export interface PoolStatusJson {
  supervisorPid: number;
  zygotePid?: number;
  socket: string;
  state: string;
  reason?: string;
  workersWanted: number;
  workers: { pid: number; state: string; command?: string }[];
  served: Record<string, number>;
  fallbacks: Record<string, number>;
  respawns: number;
  failuresInARow: number;
  memory: { supervisorKiB: number; workersKiB: number; totalKiB: number };
}

/** `tsoci warm <args>` with the pool in dir (and, with `zygote`, a stand-in zygote). */
export function warm(dir: string, args: string[], opts: { zygote?: string; env?: NodeJS.ProcessEnv } = {}): Result {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env, TSOCI_WARM_DIR: dir };
  delete env.TSOCI_WARM_ZYGOTE_SCRIPT;
  if (opts.zygote) env.TSOCI_WARM_ZYGOTE_SCRIPT = opts.zygote;
  return tsoci(['warm', ...args], { env, timeoutMs: 30000 });
}

export function poolStatus(dir: string): PoolStatusJson {
  const r = warm(dir, ['status', '--format', 'json']);
  if (r.status !== 0) throw new Error(`warm status: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Sends one line to the pool's socket (a stand-in worker's protocol) and returns the reply, or the error's code. */
export function ask(socket: string, line: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect(socket);
    let out = '';
    const timer = setTimeout(() => {
      c.destroy();
      resolve(`timeout after ${timeoutMs} ms`);
    }, timeoutMs);
    c.setEncoding('utf8');
    c.on('connect', () => c.write(line + '\n'));
    c.on('data', (d: string) => (out += d));
    c.on('end', () => {
      clearTimeout(timer);
      resolve(out.trim());
    });
    c.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code ?? err.message);
    });
  });
}

/** Waits until cond holds (async: the pool's processes keep running meanwhile). */
export async function until(cond: () => boolean, timeoutMs = 10000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
