import { spawnSync, spawn, type SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const REPO = path.resolve(__dirname, '..', '..');
export const TSOCI = path.join(REPO, 'bin', 'tsoci');
/** Every test uses this root (never the host's /run/tsoci); the leak check inspects it. */
export const TEST_ROOT = '/run/tsoci-test';

export interface Result {
  status: number;
  stdout: string;
  stderr: string;
}

function toResult(r: SpawnSyncReturns<string>): Result {
  return { status: r.status ?? (r.signal ? 128 : 1), stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Runs `tsoci --root TEST_ROOT <args>` to completion. */
export function tsoci(args: string[], opts: { root?: string; input?: string; timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Result {
  const root = opts.root ?? TEST_ROOT;
  return toResult(spawnSync(TSOCI, ['--root', root, ...args], {
    encoding: 'utf8',
    input: opts.input ?? '',
    timeout: opts.timeoutMs ?? 30000,
    cwd: opts.cwd,
    env: opts.env ?? process.env,
  }));
}

/** Like tsoci() but async, so several can run concurrently. */
export function tsociAsync(args: string[], root = TEST_ROOT): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(TSOCI, ['--root', root, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ status: code ?? 1, stdout, stderr }));
  });
}

/** run a container in the foreground and return its output. */
export function runContainer(id: string, bundle: string, extra: string[] = []): Result {
  return tsoci(['run', ...extra, '--bundle', bundle, id]);
}

export function stateOf(id: string): Record<string, any> {
  const r = tsoci(['state', id]);
  if (r.status !== 0) throw new Error(`state ${id} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Best-effort cleanup for afterEach: forced delete of every container under the test root. */
export function deleteAll(root = TEST_ROOT): void {
  let ids: string[] = [];
  try {
    ids = fs.readdirSync(root);
  } catch {
    return;
  }
  for (const id of ids) tsoci(['delete', '--force', id], { root });
}

export function uniqueId(prefix = 't'): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}
