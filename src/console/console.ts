/**
 * The container's terminal when tsoci itself is the other end: `tsoci run` (foreground)
 * or `tsoci exec` (foreground) with process.terminal and no --console-socket. tsoci then
 * listens on a private console socket, receives the pty master from tsoci-init (sent
 * before "ready", so it is already queued when create/launch returns), and relays between
 * its own stdio and the master until the container's side of the pty is closed:
 *  - its own terminal (stdin, when a tty) is put in raw mode and restored afterwards,
 *    also when tsoci exits some other way;
 *  - the pty takes the size of tsoci's terminal, and follows it on SIGWINCH.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type * as Tty from 'tty';
import { tty } from '../util/lazy';
import { native } from '../native';
import { TsociError } from '../util/errors';

type ErrnoResult = { errno: number; error: string };

/** The addon's console functions (cpp/addon/console.cc). */
export interface ConsoleAddon {
  consoleListen(path: string, backlog?: number): number | ErrnoResult;
  consoleRecvFd(fd: number, timeoutMs: number): { fd: number; name: string } | ErrnoResult;
  setWinsize(fd: number, rows: number, cols: number): number;
  getWinsize(fd: number): { rows: number; cols: number } | ErrnoResult;
  ttyMakeRaw(fd: number): Buffer | ErrnoResult;
  ttyClearOnlcr(fd: number): number;
  ttyRestore(fd: number, saved: Buffer): number;
}

export function consoleAddon(): ConsoleAddon {
  return native() as unknown as ConsoleAddon;
}

/** How long to wait for the master once the init said "ready" (it is queued by then). */
const RECEIVE_TIMEOUT_MS = 5000;
/** After the container exited, how long to wait for the rest of its output. */
const DRAIN_GRACE_MS = 2000;

/** Does the bundle's config.json ask for a terminal? (errors are create's to report) */
export function bundleWantsTerminal(bundle: string): boolean {
  try {
    const spec = JSON.parse(fs.readFileSync(path.join(path.resolve(bundle), 'config.json'), 'utf8'));
    return spec?.process?.terminal === true;
  } catch {
    return false;
  }
}

/** A console socket in a private temporary directory that tsoci listens on itself. */
export class ConsoleListener {
  private fd: number;
  private readonly dir: string;
  readonly path: string;
  /** a failure between open() and receive() still removes the directory */
  private readonly onExit = () => this.close();

  private constructor(dir: string, fd: number) {
    this.dir = dir;
    this.path = path.join(dir, 'console.sock');
    this.fd = fd;
    process.once('exit', this.onExit);
  }

  static open(): ConsoleListener {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-console-'));
    const r = consoleAddon().consoleListen(path.join(dir, 'console.sock'));
    if (typeof r !== 'number') {
      fs.rmSync(dir, { recursive: true, force: true });
      throw new TsociError(`console socket: ${r.error}`);
    }
    return new ConsoleListener(dir, r);
  }

  /** The pty master (an fd tsoci owns); the listener is closed and removed either way. */
  receive(timeoutMs = RECEIVE_TIMEOUT_MS): number {
    try {
      const r = consoleAddon().consoleRecvFd(this.fd, timeoutMs);
      if ('error' in r) throw new TsociError(`console socket ${this.path}: ${r.error}`);
      return r.fd;
    } finally {
      this.close();
    }
  }

  close(): void {
    process.off('exit', this.onExit);
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Opens a listener when tsoci has to be the console itself, else undefined. */
export function openForegroundConsole(needed: boolean): ConsoleListener | undefined {
  return needed ? ConsoleListener.open() : undefined;
}

/** The first of stdin, stdout, stderr that is a terminal (runc's console.Current()). */
function hostTerminalFd(): number | undefined {
  for (const fd of [0, 1, 2]) if (tty().isatty(fd)) return fd;
  return undefined;
}

/** Relays between tsoci's stdio and a pty master until the container side closes. */
export class ConsoleRelay {
  private readonly master: Tty.ReadStream;
  private readonly closed: Promise<void>;
  /** tsoci's own terminal settings while it is in raw mode */
  private savedTermios: Buffer | undefined;
  private finished = false;
  private readonly onStdin = (chunk: Buffer) => {
    if (!this.master.destroyed) this.master.write(chunk);
  };
  private readonly onWinch = () => this.resize();
  private readonly restoreOnExit = () => this.restoreTerminal();
  /** a reader of our stdout that went away must not crash tsoci: the container's status still counts */
  private readonly ignoreError = () => undefined;

  constructor(private readonly masterFd: number) {
    // runc: the container's "\n" stays "\n" (our own terminal, when there is one, adds the "\r")
    consoleAddon().ttyClearOnlcr(masterFd);
    this.master = new (tty().ReadStream)(masterFd);
    this.closed = new Promise((resolve) => {
      // EIO once every slave fd is closed: the container side is gone
      this.master.on('error', () => resolve());
      this.master.on('end', () => resolve());
      this.master.on('close', () => resolve());
    });
    this.master.on('data', (chunk: Buffer) => process.stdout.write(chunk));
    process.stdout.on('error', this.ignoreError);
    this.master.resume();
    this.resize();
    process.on('SIGWINCH', this.onWinch);
    if (tty().isatty(0)) {
      const saved = consoleAddon().ttyMakeRaw(0);
      if (Buffer.isBuffer(saved)) {
        this.savedTermios = saved;
        process.once('exit', this.restoreOnExit);
      }
    }
    process.stdin.on('data', this.onStdin);
    process.stdin.on('error', () => undefined);
    process.stdin.resume();
  }

  /** The pty takes the size of tsoci's own terminal (nothing when tsoci has none). */
  resize(): void {
    const fd = hostTerminalFd();
    if (fd === undefined) return;
    const ws = consoleAddon().getWinsize(fd);
    if ('rows' in ws && ws.rows > 0 && ws.cols > 0) consoleAddon().setWinsize(this.masterFd, ws.rows, ws.cols);
  }

  /** Waits (bounded) for the rest of the output, then releases the terminal and the master. */
  async finish(graceMs = DRAIN_GRACE_MS): Promise<void> {
    if (this.finished) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.closed, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    if (timer) clearTimeout(timer);
    this.stop();
    // let what was written to our stdout get out before the caller exits
    await new Promise<void>((r) => (process.stdout.writableLength === 0 ? r() : process.stdout.once('drain', () => r())));
  }

  /** Stops relaying at once (failure paths). */
  stop(): void {
    if (this.finished) return;
    this.finished = true;
    process.off('SIGWINCH', this.onWinch);
    process.stdin.off('data', this.onStdin);
    process.stdin.pause();
    if (!process.stdin.isTTY) process.stdin.destroy();
    this.restoreTerminal();
    process.off('exit', this.restoreOnExit);
    process.stdout.off('error', this.ignoreError);
    this.master.destroy(); // closes the master fd
  }

  private restoreTerminal(): void {
    const saved = this.savedTermios;
    if (!saved) return;
    this.savedTermios = undefined;
    consoleAddon().ttyRestore(0, saved); // an error: the terminal is gone
  }
}
