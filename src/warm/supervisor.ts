import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import { native } from '../native';
import { sysError, TsociError } from '../util/errors';
import { livePoolPid, makePoolDir, type PoolPaths } from './paths';
import { writeStatus, type PoolStatus, type WorkerStatus } from './status';

/**
 * The warm pool's supervisor (WARM-CONTRACT.md): it owns pool.sock and keeps N workers
 * waiting in accept on it. A worker serves one command and exits; the supervisor starts a
 * replacement as soon as a worker takes a command, and counts what the workers report.
 * It never accepts a connection itself (the socket is a plain blocking fd, not a libuv
 * server), so a launcher only ever talks to a worker.
 */

/** workers that die before `ready` this many times in a row: the build is broken, stop trying */
export const MAX_FAILURES_IN_A_ROW = 5;
const BACKOFF_FIRST_MS = 200;
const BACKOFF_MAX_MS = 5000;
const STOP_GRACE_MS = 3000;
const BACKLOG = 128;
const MAX_REASONS = 32;

export interface SupervisorOptions {
  paths: PoolPaths;
  workers: number;
  /** the worker's command line: node and bin/loader.js (or a test's stand-in) */
  workerArgv: string[];
  /** where to say "ready" or "error: …" once (the pipe `warm start` waits on) */
  report: (line: string) => void;
}

interface Worker extends WorkerStatus {
  child: ChildProcess;
  /** it took a command (its exit is then the normal end) */
  accepted: boolean;
  /** started at a lower priority (startNiced) */
  niced: boolean;
}

type AddonSocket = { consoleListen(path: string, backlog: number): number | { errno: number; error: string } };

export class Supervisor {
  private readonly workers = new Map<number, Worker>();
  private readonly status: PoolStatus;
  private listenFd = -1;
  private spawned = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private reported = false;
  private stopping = false;

  constructor(private readonly opts: SupervisorOptions) {
    this.status = {
      supervisorPid: process.pid, socket: opts.paths.socket, startedAt: new Date().toISOString(), workersWanted: opts.workers,
      state: 'starting', workers: [], served: {}, fallbacks: {}, respawns: 0, failuresInARow: 0,
    };
  }

  /** Makes the directory and the socket, writes the pid file, starts the workers. */
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

  /** Idle workers (starting or ready): the pool keeps N of them. */
  private idle(): number {
    let n = 0;
    for (const w of this.workers.values()) if (!w.accepted) n++;
    return n;
  }

  private fill(): void {
    if (this.stopping || this.status.state === 'failed' || this.retryTimer) return;
    while (this.idle() < this.opts.workers && (this.status.state as string) !== 'failed') this.spawnWorker();
    this.save();
  }

  private spawnWorker(): void {
    const [cmd, ...args] = this.opts.workerArgv;
    // fds 0-2 /dev/null, 3 the listening socket, 4 the event channel; nothing else (all else is close-on-exec)
    const child = spawn(cmd, args, {
      cwd: '/',
      env: { TSOCI_WARM_ROLE: 'worker', PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
      stdio: ['ignore', 'ignore', 'ignore', this.listenFd, 'pipe'],
    });
    if (child.pid === undefined) {
      child.on('error', (err) => this.log(`spawn worker: ${err.message}`));
      this.failed(`spawn ${cmd}: could not start a worker`);
      return;
    }
    const replacement = this.spawned++ >= this.opts.workers;
    if (replacement) this.status.respawns++;
    const w: Worker = { pid: child.pid, state: 'starting', child, accepted: false, niced: replacement && startNiced(child.pid) };
    this.workers.set(w.pid, w);
    child.on('error', (err) => this.log(`worker ${w.pid}: ${err.message}`));
    let buf = '';
    const events = child.stdio[4] as NodeJS.ReadableStream;
    events.setEncoding('utf8');
    events.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        this.event(w, buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    events.on('error', () => undefined);
    // 'close', not 'exit': every event the worker wrote has been read (an 'accepted' read after its exit would count it as a failure)
    child.on('close', (code, signal) => this.exited(w, code, signal));
  }

  private event(w: Worker, line: string): void {
    let e: { event?: string; command?: string; reason?: string };
    try {
      e = JSON.parse(line);
    } catch {
      this.log(`worker ${w.pid}: not an event: ${line.slice(0, 200)}`);
      return;
    }
    if (e.event === 'ready') {
      w.state = 'ready';
      if (w.niced) unnice(w.pid);
      this.status.failuresInARow = 0;
      if (!this.reported && [...this.workers.values()].filter((x) => x.state === 'ready').length >= this.opts.workers) {
        this.status.state = 'running';
        this.report('ready');
      }
    } else if (e.event === 'accepted') {
      const command = typeof e.command === 'string' && /^[a-z][a-z-]{0,31}$/.test(e.command) ? e.command : 'other';
      w.state = 'busy';
      w.command = command;
      w.accepted = true;
      this.status.served[command] = (this.status.served[command] ?? 0) + 1;
      this.fill();
    } else if (e.event === 'refused') {
      // reasons are counted by their text: bounded, so a chatty worker cannot grow status.json without end
      let reason = typeof e.reason === 'string' && e.reason ? e.reason.slice(0, 120) : 'unknown';
      if (!(reason in this.status.fallbacks) && Object.keys(this.status.fallbacks).length >= MAX_REASONS) reason = 'other';
      this.status.fallbacks[reason] = (this.status.fallbacks[reason] ?? 0) + 1;
    } else {
      this.log(`worker ${w.pid}: unknown event ${line.slice(0, 200)}`);
    }
    this.save();
  }

  private exited(w: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    this.workers.delete(w.pid);
    if (this.stopping || this.status.state === 'failed') return this.save();
    if (!w.accepted) {
      // a worker that never took a command should not end: a broken build or environment
      const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
      this.status.failuresInARow++;
      this.log(`worker ${w.pid} ${how} ${w.state === 'starting' ? 'before it was ready' : 'without serving'} (${this.status.failuresInARow} in a row)`);
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
      return;
    }
    this.fill();
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
    for (const w of this.workers.values()) if (!w.accepted) w.child.kill('SIGKILL');
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
    const idle = [...this.workers.values()].filter((w) => !w.accepted);
    const gone = idle.map((w) => new Promise<void>((resolve) => {
      if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve();
      w.child.once('exit', () => resolve());
    }));
    for (const w of idle) w.child.kill('SIGTERM');
    const timer = setTimeout(() => idle.forEach((w) => w.child.kill('SIGKILL')), STOP_GRACE_MS);
    await Promise.all(gone);
    clearTimeout(timer);
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

/**
 * A socket left by a supervisor that died (nobody listening: ECONNREFUSED) is removed; a live
 * one means a pool is running; anything that is not a socket is refused, never removed.
 */
export async function removeStaleSocket(socket: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(socket);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw sysError('warm pool: stat', socket, err);
  }
  if (!st.isSocket()) throw new TsociError(`warm pool: ${socket} exists and is not a socket: refusing to remove it`);
  const live = await new Promise<boolean | Error>((resolve) => {
    const c = net.connect(socket);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED' ? false : err));
  });
  if (live === true) throw new TsociError(`warm pool is already running (${socket} accepts connections)`);
  if (live instanceof Error) throw sysError('warm pool: connect', socket, live);
  fs.rmSync(socket, { force: true });
}

/**
 * A replacement starts while the command that emptied its place still runs: at full
 * priority its Node start-up (~70 ms of CPU) takes half of a 2-core host from that command
 * (measured: warm `run /bin/true` 112 ms with the replacement loading alongside, 69 ms
 * without). So it loads at nice 10 (its threads inherit it as Node creates them) and gets
 * its priority back once ready, before it can serve anyone. Only root may raise a priority
 * again: a rootless pool's replacements keep the caller's.
 */
const REPLACEMENT_NICE = 10;

function startNiced(pid: number): boolean {
  if (process.geteuid?.() !== 0) return false;
  try {
    os.setPriority(pid, REPLACEMENT_NICE);
    return true;
  } catch {
    return false;
  }
}

function unnice(pid: number): void {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return; // gone already
  }
  for (const tid of tids) {
    try {
      os.setPriority(Number(tid), 0);
    } catch {
      /* a thread that just ended */
    }
  }
}
