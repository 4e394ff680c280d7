import { spawn, spawnSync } from 'child_process';
import * as os from 'os';
import * as fs from 'fs';
import * as path from 'path';
import { TSOCI, TEST_ROOT } from './tsoci';

/** The CRIU tsoci would use (scripts/build-criu.sh's cache, then $PATH), or why there is none. */
export function findTestCriu(): { path?: string; reason?: string } {
  const cache = process.env.TSOCI_CRIU_CACHE || '/var/cache/tsoci-criu';
  const candidates: string[] = [];
  try {
    for (const v of fs.readdirSync(cache)) candidates.push(path.join(cache, v, 'criu'));
  } catch {
    /* no cache */
  }
  for (const d of (process.env.PATH ?? '').split(':')) if (d) candidates.push(path.join(d, 'criu'));
  for (const c of candidates) {
    if (!fs.existsSync(c)) continue;
    const r = spawnSync(c, ['check'], { encoding: 'utf8', timeout: 30000 });
    if (/Looks good/.test(r.stdout + r.stderr)) return { path: c };
  }
  return { reason: `no working criu (looked in ${cache}/<version>/criu and $PATH; scripts/build-criu.sh builds one)` };
}

/**
 * A tsoci command whose stdio are real pipes, as conmon and containerd's shim give (Node's
 * 'pipe' stdio are unix socketpairs, and CRIU cannot dump a container whose stdout is a host
 * file it cannot see from inside): stdin's writer is gone at once, stdout and stderr are read
 * by a `cat` each, which ends when the last writer (the container) does. Resolves when tsoci
 * exits, with what it wrote to stderr by then.
 */
export interface Piped {
  status: number;
  stderr: string;
}

export function tsociPiped(args: string[], opts: { root?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Piped> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-out-'));
  const script = `"$@" < <(:) > >(exec cat > ${dir}/out) 2> >(exec cat > ${dir}/err)`;
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script, 'bash', TSOCI, '--root', opts.root ?? TEST_ROOT, ...args], { stdio: 'ignore', env: opts.env ?? process.env });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      setTimeout(() => {
        let stderr = '';
        try {
          stderr = fs.readFileSync(path.join(dir, 'err'), 'utf8');
        } catch {
          /* cat has not opened it yet: nothing was written */
        }
        // cat keeps writing into the unlinked files until the container ends
        fs.rmSync(dir, { recursive: true, force: true });
        resolve({ status: code ?? (signal ? 128 : 1), stderr });
      }, 100);
    });
  });
}
