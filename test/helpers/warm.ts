import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO } from './tsoci';

/** One event line of a worker (src/warm/README.md). */
export interface WarmEvent {
  event: 'ready' | 'accepted' | 'refused';
  pid: number;
  command?: string;
  reason?: string;
}

/**
 * A pool for the handoff tests (test/helpers/warm_pool.py): a stand-in supervisor whose
 * events the test reads, so it can tell which worker took which command.
 */
export class TestPool {
  readonly events: WarmEvent[] = [];
  private readonly child: ChildProcess;
  private buffered = '';
  private exited = false;

  constructor(readonly dir: string, workers = 2) {
    this.child = spawn('python3', [path.join(__dirname, 'warm_pool.py'), dir, String(workers), process.execPath, path.join(REPO, 'bin', 'loader.js')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.buffered += chunk.toString();
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        this.events.push(JSON.parse(this.buffered.slice(0, nl)) as WarmEvent);
        this.buffered = this.buffered.slice(nl + 1);
      }
    });
    this.child.on('exit', () => (this.exited = true));
  }

  /** env for a command that must reach this pool (a worker busy on a loaded host may take more than 10 ms) */
  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return { ...process.env, TSOCI_WARM_DIR: this.dir, TSOCI_WARM_WAIT_MS: '3000', ...extra };
  }

  /** workers waiting in accept */
  idle(): number[] {
    const gone = new Set(this.events.filter((e) => e.event === 'accepted').map((e) => e.pid));
    return this.events.filter((e) => e.event === 'ready' && !gone.has(e.pid)).map((e) => e.pid);
  }

  accepted(): WarmEvent[] {
    return this.events.filter((e) => e.event === 'accepted');
  }

  refused(): WarmEvent[] {
    return this.events.filter((e) => e.event === 'refused');
  }

  /** resolves once `n` workers wait (each loads the bundle: ~0.1–1 s on a busy host) */
  async waitIdle(n = 1, timeoutMs = 20000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.idle().length < n) {
      if (Date.now() > end || this.exited) throw new Error(`warm pool: ${this.idle().length} idle workers of ${n} (events: ${JSON.stringify(this.events)})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * Runs fn and returns its result with the commands workers accepted meanwhile (events come
   * through a pipe: those of an earlier command are let in first, and these waited for).
   */
  async track<T>(fn: () => T, expected = 1): Promise<{ result: T; commands: string[] }> {
    let seen = this.events.length;
    do {
      seen = this.events.length;
      await new Promise((r) => setTimeout(r, 80));
    } while (this.events.length !== seen);
    const before = this.accepted().length;
    const result = fn();
    const end = Date.now() + 5000;
    while (this.accepted().length < before + expected && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    return { result, commands: this.accepted().slice(before).map((e) => e.command ?? '') };
  }

  /** the supervisor dies (SIGKILL): its workers must end by themselves */
  async killSupervisor(): Promise<void> {
    const done = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await done;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const done = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await done;
  }
}

/** A pool directory under a fresh temp dir (the pool's own mode rules: 0700). */
export function poolDir(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-warm-')), 'pool');
}

/** env that never reaches a pool (a pool the host may run at /run/tsoci/.warm included) */
export function coldEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, TSOCI_WARM_DIR: '/nonexistent/tsoci-warm', ...extra };
}
