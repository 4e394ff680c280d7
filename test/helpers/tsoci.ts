import { spawnSync, spawn } from 'child_process';
import * as os from 'os';
import * as fs from 'fs';
import * as path from 'path';

export const REPO = path.resolve(__dirname, '..', '..');
export const TSOCI = path.join(REPO, 'bin', 'tsoci');
/**
 * Every test uses this root (never the host's /run/tsoci); the leak check inspects it.
 * TSOCI_TEST_ROOT gives a run its own root, so concurrent runs (several people testing in
 * one checkout) do not delete each other's containers in deleteAll().
 */
export const TEST_ROOT = process.env.TSOCI_TEST_ROOT || '/run/tsoci-test';

export interface Result {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `tsoci --root TEST_ROOT <args>` to completion. Output goes through files, not
 * pipes: a created container inherits tsoci's stdio, so a pipe would stay open (and
 * spawnSync wait) for as long as the container lives.
 */
export function tsoci(args: string[], opts: { root?: string; timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Result {
  const root = opts.root ?? TEST_ROOT;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-out-'));
  const outFd = fs.openSync(path.join(dir, 'out'), 'w+');
  const errFd = fs.openSync(path.join(dir, 'err'), 'w+');
  try {
    const r = spawnSync(TSOCI, ['--root', root, ...args], {
      stdio: ['ignore', outFd, errFd],
      timeout: opts.timeoutMs ?? 30000,
      cwd: opts.cwd,
      env: opts.env ?? process.env,
    });
    return {
      status: r.status ?? (r.signal ? 128 : 1),
      stdout: fs.readFileSync(path.join(dir, 'out'), 'utf8'),
      stderr: fs.readFileSync(path.join(dir, 'err'), 'utf8') + (r.error ? String(r.error) : ''),
    };
  } finally {
    fs.closeSync(outFd);
    fs.closeSync(errFd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Like tsoci() but async, so several can run concurrently. */
export function tsociAsync(args: string[], root = TEST_ROOT): Promise<Result> {
  return new Promise((resolve) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-out-'));
    const outFd = fs.openSync(path.join(dir, 'out'), 'w+');
    const errFd = fs.openSync(path.join(dir, 'err'), 'w+');
    const child = spawn(TSOCI, ['--root', root, ...args], { stdio: ['ignore', outFd, errFd] });
    child.on('exit', (code) => {
      const result = { status: code ?? 1, stdout: fs.readFileSync(path.join(dir, 'out'), 'utf8'), stderr: fs.readFileSync(path.join(dir, 'err'), 'utf8') };
      fs.closeSync(outFd);
      fs.closeSync(errFd);
      fs.rmSync(dir, { recursive: true, force: true });
      resolve(result);
    });
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
  // dot entries are tsoci's own (.seccomp-cache), not containers
  for (const id of ids) if (!id.startsWith('.')) tsoci(['delete', '--force', id], { root });
}

export function uniqueId(prefix = 't'): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}
