import { spawn, spawnSync } from 'child_process';
import * as os from 'os';
import * as tty from 'tty';
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

interface ConsoleAddon {
  consoleListen(path: string): number | { errno: number; error: string };
  consoleRecvFd(fd: number, timeoutMs: number): { fd: number; name: string } | { errno: number; error: string };
}

/** A console socket the test listens on, like conmon. */
export class ConsoleListener {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-out-console-'));
  readonly path = path.join(this.dir, 'console.sock');
  private fd: number;
  private static addon = (): ConsoleAddon =>
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    require(path.join(__dirname, '..', '..', 'build', 'Release', 'tsoci.node')) as ConsoleAddon;
  constructor() {
    const r = ConsoleListener.addon().consoleListen(this.path);
    if (typeof r !== 'number') throw new Error(r.error);
    this.fd = r;
  }
  receive(): { fd: number; name: string } {
    const r = ConsoleListener.addon().consoleRecvFd(this.fd, 10000);
    if ('error' in r) throw new Error(r.error);
    return r;
  }
  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** What arrives on a pty master within timeoutMs (the stream is closed then, and with it the fd). */
export function readMasterFor(fd: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const stream = new tty.ReadStream(fd);
    let out = '';
    const done = () => {
      clearTimeout(timer);
      stream.destroy();
      resolve(out);
    };
    const timer = setTimeout(done, timeoutMs);
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => (out += d));
    stream.on('error', done);
    stream.on('end', done);
  });
}
