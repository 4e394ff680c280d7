import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { native } from '../native';
import { TsociError } from '../util/errors';
import { ended, kill, signalName } from '../util/processes';
import { removeStaleSocket } from './pool-socket';
import { livePoolPid, makePoolDir, type PoolPaths } from './paths';
import { writeStatus, type PoolStatus, type WorkerStatus } from './status';

/**
 * The warm pool's supervisor (src/warm/README.md): it owns pool.sock and keeps N workers
 * waiting in accept on it. A worker serves one command and exits; the supervisor asks for a
 * replacement as soon as a worker takes a command, and counts what the workers report.
 * Workers are forked by a zygote (src/warm/worker.ts runZygote), a process that loaded the
 * bundle once: a replacement costs a fork, not a Node start (~70 ms of CPU, which made
 * back-to-back commands find no worker and go cold). The supervisor never accepts a
 * connection itself (the socket is a plain blocking fd, not a libuv server), so a launcher
 * only ever talks to a worker.
 */

/** starts that end before serving this many times in a row: the build is broken, stop trying */
export const MAX_FAILURES_IN_A_ROW = 5;
const BACKOFF_FIRST_MS = 200;
const BACKOFF_MAX_MS = 5000;
const STOP_GRACE_MS = 3000;
const BACKLOG = 128;
const MAX_REASONS = 32;
/**
 * The zygote runs V8 without helper threads: a fork copies only the calling thread, so a
 * worker must never wait for a task posted to a thread it does not have. It compiles every
 * function of the bundle once, as it loads (--no-lazy; kept in its code cache), so a worker
 * does not compile on its command's path: lazy compilation was a third of a served `run`'s
 * CPU (perf), and warm `run` went from 54–58 to 48 ms. And no optimising compiler
 * (--no-opt): without helper threads TurboFan compiles on the command's own thread, for a
 * process that lives tens of ms (warm `run` median 49.4 against 53.8 ms, `list` of 150
 * containers 41.4 against 43.6: /tmp/ab.mjs-style alternation of two pools).
 */
export const ZYGOTE_NODE_FLAGS = ['--single-threaded', '--no-lazy', '--no-opt'];

export interface SupervisorOptions {
  paths: PoolPaths;
  workers: number;
  /** the zygote's command line: node and bin/loader.js (or a test's stand-in) */
  workerArgv: string[];
  /** where to say "ready" or "error: …" once (the pipe `warm start` waits on) */
  report: (line: string) => void;
}

interface Worker extends WorkerStatus {
  /** it took a command (its exit is then the normal end) */
  accepted: boolean;
}

interface Zygote {
  child: ChildProcess;
  pid: number;
  /** it said `loaded`: it forks on request */
  loaded: boolean;
  /** one byte per worker wanted (fd 5 in the zygote) */
  requests: NodeJS.WritableStream;
}

type AddonSocket = { consoleListen(path: string, backlog: number): number | { errno: number; error: string } };

export class Supervisor {
  private readonly workers = new Map<number, Worker>();
  private readonly status: PoolStatus;
  private zygote: Zygote | undefined;
  /** forks asked of the zygote and not yet reported */
  private forking = 0;
  private listenFd = -1;
  private forked = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private reported = false;
  private stopping = false;
  /** installed builds a zygote was restarted for (reloadIfRebuilt) */
  private readonly reloadedFor = new Set<string>();
  /** the zygote ended on purpose, for a new build */
  private replacing: Zygote | undefined;

  constructor(private readonly opts: SupervisorOptions) {
    this.status = {
      supervisorPid: process.pid, socket: opts.paths.socket, startedAt: new Date().toISOString(), workersWanted: opts.workers,
      state: 'starting', workers: [], served: {}, fallbacks: {}, respawns: 0, failuresInARow: 0,
    };
  }

  /** Makes the directory and the socket, writes the pid file, starts the zygote. */
  async start(): Promise<void> {
    const p = this.opts.paths;
    // no window where the socket is open to others; workers get the caller's umask with each request
    const umask = process.umask(0o077);
    makePoolDir(p.dir);
    const running = livePoolPid(p);
    if (running !== undefined && running !== process.pid) throw new TsociError(`warm pool is already running (pid ${running}, ${p.dir})`);
    await removeStaleSocket(p.socket);
    const fd = (native() as unknown as AddonSocket).consoleListen(p.socket, BACKLOG);
    if (typeof fd !== 'number') throw new TsociError(`warm pool: ${fd.error}`);
    this.listenFd = fd;
    fs.chmodSync(p.socket, 0o600);
    process.umask(umask);
    fs.writeFileSync(`${p.pid}.tmp`, `${process.pid}\n`, { mode: 0o600 });
    fs.renameSync(`${p.pid}.tmp`, p.pid);
    fs.writeFileSync(p.log, '', { mode: 0o600 });
    this.log(`supervisor ${process.pid} listening on ${p.socket}, ${this.opts.workers} worker(s)`);
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void this.stop(0));
    process.on('uncaughtException', (err) => {
      this.log(`internal error: ${err.stack ?? err.message}`);
      void this.stop(1);
    });
    // alive until stopped, even with no worker and no socket (a pool that gave up says why in status)
    setInterval(() => undefined, 1 << 30);
    this.fill();
  }

  /** Idle workers (asked for, starting or ready): the pool keeps N of them. */
  private idle(): number {
    let n = this.forking;
    for (const w of this.workers.values()) if (!w.accepted) n++;
    return n;
  }

  private fill(): void {
    if (this.stopping || this.status.state === 'failed' || this.retryTimer) return;
    if (!this.zygote) this.spawnZygote();
    else if (this.zygote.loaded) {
      for (let want = this.opts.workers - this.idle(); want > 0; want--) {
        this.zygote.requests.write('w');
        this.forking++;
        if (this.forked++ >= this.opts.workers) this.status.respawns++;
      }
    }
    this.save();
  }

  private spawnZygote(): void {
    const [cmd, ...args] = this.opts.workerArgv;
    // fds 0-2 /dev/null, 3 the listening socket, 4 the event channel (its workers share it), 5 its requests; nothing else
    const child = spawn(cmd, args, {
      cwd: '/',
      env: { TSOCI_WARM_ROLE: 'zygote', PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
      stdio: ['ignore', 'ignore', 'ignore', this.listenFd, 'pipe', 'pipe'],
    });
    if (child.pid === undefined) {
      child.on('error', (err) => this.log(`spawn zygote: ${err.message}`));
      this.failed(`spawn ${cmd}: could not start the zygote`);
      return;
    }
    const z: Zygote = { child, pid: child.pid, loaded: false, requests: (child.stdio as unknown as NodeJS.WritableStream[])[5] };
    this.zygote = z;
    (z.requests as unknown as NodeJS.EventEmitter).on('error', () => undefined); // its end: seen as its exit
    child.on('error', (err) => this.log(`zygote ${z.pid}: ${err.message}`));
    let buf = '';
    const events = child.stdio[4] as NodeJS.ReadableStream;
    events.setEncoding('utf8');
    events.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        this.event(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    events.on('error', () => undefined);
    // 'exit', not 'close': its workers hold the event channel open after it
    child.on('exit', (code, signal) => this.zygoteExited(z, code, signal));
  }

  private event(line: string): void {
    let e: { event?: string; pid?: number; command?: string; reason?: string; code?: number; signal?: number; errno?: number };
    try {
      e = JSON.parse(line);
    } catch {
      this.log(`not an event: ${line.slice(0, 200)}`);
      return;
    }
    const pid = typeof e.pid === 'number' ? e.pid : -1;
    if (e.event === 'loaded' && this.zygote?.pid === pid) {
      this.zygote.loaded = true;
      this.fill();
      return;
    }
    if (e.event === 'forked') {
      this.forking = Math.max(0, this.forking - 1);
      this.worker(pid);
    } else if (e.event === 'fork-failed') {
      this.forking = Math.max(0, this.forking - 1);
      this.startFailed(`the zygote could not fork: errno ${e.errno}`);
      return;
    } else if (e.event === 'exit') {
      const w = this.workers.get(pid);
      const signal = typeof e.signal === 'number' ? (signalName(e.signal) ?? `signal ${e.signal}`) : null;
      if (w) this.exited(w, typeof e.code === 'number' ? e.code : null, signal);
      return;
    } else if (e.event === 'ready') {
      const w = this.worker(pid);
      w.state = 'ready';
      this.status.failuresInARow = 0;
      if (!this.reported && [...this.workers.values()].filter((x) => x.state === 'ready').length >= this.opts.workers) {
        this.status.state = 'running';
        this.report('ready');
      }
    } else if (e.event === 'accepted') {
      const w = this.worker(pid);
      const command = typeof e.command === 'string' && /^[a-z][a-z-]{0,31}$/.test(e.command) ? e.command : 'other';
      w.state = 'busy';
      w.command = command;
      w.accepted = true;
      this.status.served[command] = (this.status.served[command] ?? 0) + 1;
    } else if (e.event === 'refused') {
      // reasons are counted by their text: bounded, so a chatty worker cannot grow status.json without end
      let reason = typeof e.reason === 'string' && e.reason ? e.reason.slice(0, 120) : 'unknown';
      if (!(reason in this.status.fallbacks) && Object.keys(this.status.fallbacks).length >= MAX_REASONS) reason = 'other';
      this.status.fallbacks[reason] = (this.status.fallbacks[reason] ?? 0) + 1;
      if (typeof e.reason === 'string') this.reloadIfRebuilt(e.reason);
    } else {
      this.log(`process ${pid}: unknown event ${line.slice(0, 200)}`);
    }
    this.fill();
  }

  /** A worker's entry: its `forked` and its own `ready` may come in either order. */
  private worker(pid: number): Worker {
    let w = this.workers.get(pid);
    if (!w) {
      w = { pid, state: 'starting', accepted: false };
      this.workers.set(pid, w);
    }
    return w;
  }

  private exited(w: Worker, code: number | null, signal: string | null): void {
    this.workers.delete(w.pid);
    if (this.stopping || this.status.state === 'failed') return this.save();
    // a worker that never took a command should not end: a broken build or environment
    if (!w.accepted) return this.startFailed(`${w.state === 'starting' ? 'before it was ready' : 'without serving'}`, w.pid, code, signal);
    this.fill();
  }

  /**
   * A caller of another build: if the installed bundle is no longer the zygote's (an upgrade
   * or a rebuild under a running pool), a new zygote loads it, as a fresh worker would. Once
   * per installed build, so a bundle that does not match its own build-id file cannot loop.
   */
  private reloadIfRebuilt(reason: string): void {
    const ours = /^build mismatch \(caller .*, worker (.*)\)$/.exec(reason)?.[1];
    const z = this.zygote;
    if (ours === undefined || !z || this.stopping) return;
    let installed: string;
    try {
      const loader = this.opts.workerArgv[this.opts.workerArgv.length - 1];
      installed = fs.readFileSync(path.join(path.dirname(loader), '..', 'dist', 'build-id'), 'utf8').trim();
    } catch {
      return;
    }
    if (installed === ours || this.reloadedFor.has(installed)) return;
    this.reloadedFor.add(installed);
    this.log(`the installed build is ${installed}, the zygote's ${ours}: starting a new zygote`);
    this.replacing = z;
    kill(z.pid, 'SIGTERM');
  }

  /** The zygote ended: its idle workers go with it (their ends would not be reported), and a new one starts. */
  private zygoteExited(z: Zygote, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.zygote !== z) return;
    this.zygote = undefined;
    this.forking = 0;
    for (const w of [...this.workers.values()]) {
      if (!w.accepted) kill(w.pid, 'SIGKILL');
      this.workers.delete(w.pid); // a busy one finishes its command on its own
    }
    if (this.stopping || this.status.state === 'failed') return this.save();
    if (this.replacing === z) {
      this.replacing = undefined;
      this.fill(); // a new build: not a failure
      return;
    }
    this.startFailed(z.loaded ? 'without serving' : 'before it was ready', z.pid, code, signal, 'zygote');
  }

  /** Something that should be waiting for work ended: retry after a back-off, or give up. */
  private startFailed(when: string, pid?: number, code?: number | null, signal?: string | null, what = 'worker'): void {
    const how = pid === undefined ? when : `${what === 'zygote' ? 'zygote ' : ''}${signal ? `was killed by ${signal}` : `exited with status ${code}`}`;
    this.status.failuresInARow++;
    this.log(`${what} ${pid ?? ''} ${how}${pid === undefined ? '' : ` ${when}`} (${this.status.failuresInARow} in a row)`);
    if (this.status.failuresInARow >= MAX_FAILURES_IN_A_ROW) {
      const see = this.reported ? `; see ${this.opts.paths.log}` : '';
      this.failed(`${this.status.failuresInARow} workers in a row ended without serving (the last ${how})${see}`);
      return;
    }
    const delay = Math.min(BACKOFF_FIRST_MS * 2 ** (this.status.failuresInARow - 1), BACKOFF_MAX_MS);
    this.save();
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.fill();
    }, delay);
  }

  /**
   * The pool gives up: no socket (launchers go cold at once instead of waiting for a worker
   * that will never come), no workers; the supervisor stays to say why in status.json,
   * unless `warm start` is still waiting: then it says why there and cleans up.
   */
  private failed(reason: string): void {
    this.status.state = 'failed';
    this.status.reason = reason;
    this.log(`giving up: ${reason}`);
    this.closeSocket();
    for (const w of this.workers.values()) if (!w.accepted) kill(w.pid, 'SIGKILL');
    if (this.zygote) kill(this.zygote.pid, 'SIGKILL');
    if (!this.reported) {
      this.report(`error: warm pool: ${reason}`);
      void this.stop(1);
      return;
    }
    this.save();
  }

  private closeSocket(): void {
    fs.rmSync(this.opts.paths.socket, { force: true });
    if (this.listenFd >= 0) fs.closeSync(this.listenFd);
    this.listenFd = -1;
  }

  /** SIGTERM: no new connections, idle workers ended (and waited for), files removed. Busy workers finish their command. */
  async stop(exitCode: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.status.state = 'stopping';
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.closeSocket();
    // idle workers first (the zygote reaps them), then the zygote; busy workers finish their command
    const idle = [...this.workers.values()].filter((w) => !w.accepted).map((w) => w.pid);
    await ended(idle, 'SIGTERM', STOP_GRACE_MS);
    const z = this.zygote;
    if (z && z.child.exitCode === null && z.child.signalCode === null) {
      const gone = new Promise<void>((resolve) => z.child.once('exit', () => resolve()));
      z.child.kill('SIGTERM');
      const timer = setTimeout(() => z.child.kill('SIGKILL'), STOP_GRACE_MS);
      await gone;
      clearTimeout(timer);
    }
    const p = this.opts.paths;
    for (const f of [p.status, p.pid, p.log]) fs.rmSync(f, { force: true });
    try {
      fs.rmdirSync(p.dir);
    } catch {
      /* not empty (someone else's file) or already gone: leave it */
    }
    if (!this.reported) this.report('error: warm pool: stopped before its workers were ready');
    process.exit(exitCode);
  }

  private report(line: string): void {
    this.reported = true;
    this.opts.report(line);
  }

  private save(): void {
    if (this.stopping) return;
    this.status.zygotePid = this.zygote?.pid;
    this.status.workers = [...this.workers.values()].map(({ pid, state, command }) => ({ pid, state, ...(command ? { command } : {}) }));
    try {
      writeStatus(this.opts.paths.status, this.status);
    } catch (err) {
      this.log(`write ${this.opts.paths.status}: ${(err as Error).message}`);
    }
  }

  private log(msg: string): void {
    try {
      fs.appendFileSync(this.opts.paths.log, `${new Date().toISOString()} ${msg}\n`);
    } catch {
      /* no log: nothing else to tell */
    }
  }
}
