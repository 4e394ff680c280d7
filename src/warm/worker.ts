/**
 * A warm pool worker (src/warm/README.md: fd 3 the pool's listening socket, fd 4 the events
 * channel), forked by the zygote (runZygote) or started on its own (runWorker, a test's
 * stand-in pool). It has loaded everything a command needs, waits for one
 * launcher (bin/tsoci) whose request it may serve, becomes that command's process — the
 * caller's stdio, environment, cwd, umask and arguments — and runs the very same CLI code as
 * a cold tsoci. It serves exactly one command, then exits with its status.
 */
import * as fs from 'fs';
import * as path from 'path';
import { main } from '../main';
import { errnoName } from '../native';
import { separateExecCommand } from '../cli/exec';
import { useLauncherFdRecord } from '../fds/caller-fds';
import { useInitHost } from '../launch/init-host';
import { validateConfig, validateFeatures, validateProcess, validateResources, validateState } from '../spec/validate';
import { childProcess, tty } from '../util/lazy';
import { LAUNCHER_RECORDS } from '../util/launcher-records';
import { launcherInitHost } from './launcher-host';
import { commandWord, GAVE_UP, parseRequest, refusal, type WarmRequest } from './request';
import { warmNative, type AcceptedConnection } from './warm-native';

declare const TSOCI_BUILD_ID: string;
const BUILD_ID = typeof TSOCI_BUILD_ID === 'string' ? TSOCI_BUILD_ID : 'none';

const LISTEN_FD = 3;
const EVENTS_FD = 4;
/** the zygote's: one byte from the supervisor per worker to fork */
const ZYGOTE_CTL_FD = 5;

function event(fields: Record<string, unknown>): void {
  try {
    fs.writeSync(EVENTS_FD, `${JSON.stringify({ ...fields, pid: process.pid })}\n`);
  } catch {
    /* the supervisor is gone: the next accept sees it and exits */
  }
}

/** What a command would otherwise load on first use (lazy in the cold path, to start fast). */
function preload(): void {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  require('yargs/yargs');
  childProcess();
  tty();
  for (const validate of [validateConfig, validateState, validateProcess, validateResources, validateFeatures]) validate({});
  fs.rmSync('/nonexistent-tsoci-preload', { recursive: true, force: true }); // loads Node's rimraf (run's delete uses it)
  // the checks of a request, once on ourselves: their first run (fs bindings, compilation) costs ~1 ms
  const self = Buffer.from([BUILD_ID, '/', '22', `${process.pid}:`, '1', 'state', 'PATH=/bin', ''].join('\0'));
  const req = parseRequest(self);
  if (typeof req !== 'string') refusal(req, { pid: process.pid, uid: process.geteuid?.() ?? 0 }, BUILD_ID);
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    require(path.join(__dirname, 'systemd-dbus'));
  } catch {
    /* not bundled (ts-jest): loaded on use */
  }
}

function closeQuietly(fds: number[]): void {
  for (const fd of fds) {
    try {
      fs.closeSync(fd);
    } catch {
      /* already closed */
    }
  }
}

/** Checks, then (last, as they change this process) the caller's cwd and rlimits; answers the launcher. */
function answer(conn: AcceptedConnection): WarmRequest | string {
  const w = warmNative();
  const req = parseRequest(conn.body);
  let why = typeof req === 'string' ? req : refusal(req, conn, BUILD_ID);
  if (!why && typeof req !== 'string') {
    try {
      process.chdir(req.cwd);
    } catch (err) {
      why = `chdir ${req.cwd}: ${(err as NodeJS.ErrnoException).code}`;
    }
  }
  // the caller's limits, for what the command starts (hooks) as a cold tsoci would pass them on
  if (!why && typeof req !== 'string') {
    why = w.warmAdoptRlimits(conn.pid) || undefined;
    if (why) process.chdir('/');
  }
  if (why || typeof req === 'string') {
    w.warmAnswer(conn.fd, false, why ?? 'malformed request');
    return why ?? 'malformed request';
  }
  if (!w.warmAnswer(conn.fd, true, '')) {
    process.chdir('/');
    return GAVE_UP;
  }
  return req;
}

/** Becomes the caller's command: from here on the worker is that command's process. */
function serve(conn: AcceptedConnection, req: WarmRequest): void {
  const w = warmNative();
  event({ event: 'accepted', command: commandWord(req.args) || '(none)' });
  process.removeListener('exit', quitOnExit); // the command's end goes to the launcher (exitThroughLauncher)
  closeQuietly([LISTEN_FD, EVENTS_FD]);
  // before anything touches process.stdout/stderr: Node makes them on first use, from fds 1 and 2
  const adopted = w.warmAdoptStdio(conn.stdio);
  exitThroughLauncher(conn.fd);
  if (adopted !== 0) {
    fs.writeSync(2, `warm worker ${process.pid}: take the caller's stdio (dup2): ${errnoName(adopted)}\n`);
    process.exitCode = 1;
    return;
  }
  // the launcher gone (the caller killed it): nobody waits for this command any more
  w.warmWatchLauncher(conn.fd);
  for (const name of Object.keys(process.env)) delete process.env[name];
  Object.assign(process.env, req.env);
  // stale ones of the caller's: the fd record came with the request, the limits were taken
  // from the launcher, and the caller's NODE_EXTRA_CA_CERTS is in req.env as it is
  for (const name of LAUNCHER_RECORDS) delete process.env[name];
  process.umask(req.umask);
  process.argv = [process.argv[0], process.argv[1], ...req.args];
  useLauncherFdRecord(req.fdRecord, conn.pid);
  useInitHost(launcherInitHost(conn.fd));
  main(separateExecCommand(req.args));
}

/**
 * Once every 'exit' listener has run (the command's own, e.g. a terminal's restore, are added
 * after this), the status goes to the launcher and the process ends without Node's teardown.
 * Both ways out (process.exit and an empty event loop) emit 'exit' through process.emit.
 */
function exitThroughLauncher(conn: number): void {
  const emit = process.emit.bind(process) as (name: string, ...args: unknown[]) => boolean;
  (process as unknown as { emit: typeof emit }).emit = (name: string, ...args: unknown[]): boolean => {
    const result = emit(name, ...args);
    if (name === 'exit') warmNative().warmExit(conn, Number(process.exitCode ?? args[0] ?? 0) || 0);
    return result;
  };
}

/** A worker started on its own (a test's stand-in pool): load, then serve. */
export function runWorker(): void {
  delete process.env.TSOCI_WARM_ROLE;
  preload();
  serveOne();
}

/**
 * The zygote (the supervisor's, fd 5 its requests): loads once, then forks a worker per
 * request (cpp/addon/warm_zygote.cc). A forked worker starts here, in the state the zygote
 * loaded, with nothing of any command: it serves one, like a worker started on its own.
 */
export function runZygote(): void {
  delete process.env.TSOCI_WARM_ROLE;
  preload();
  // the loader's code cache for the zygote's V8 flags, when it had none (bin/loader.js)
  const saveCodeCache = (globalThis as Record<symbol, unknown>)[Symbol.for('tsoci.saveCodeCache')];
  if (typeof saveCodeCache === 'function') saveCodeCache();
  collectGarbage();
  event({ event: 'loaded' });
  const got = warmNative().warmZygote(ZYGOTE_CTL_FD, EVENTS_FD);
  if ('worker' in got) {
    // Node reads its pid once, at start-up: the zygote's
    Object.defineProperty(process, 'pid', { value: got.worker, writable: false, enumerable: true, configurable: true });
    // any way out (process.exit, an uncaught exception) must skip Node's teardown (see quit); a served command replaces this
    process.on('exit', quitOnExit);
    serveOne();
    return;
  }
  if ('error' in got) fs.writeSync(2, `warm zygote ${process.pid}: ${got.error}\n`);
  process.exit('error' in got ? 1 : 0); // the supervisor is gone
}

/**
 * A full collection before the first fork: a worker then starts with an empty young
 * generation. What loading left there otherwise fills up during the command, and the
 * scavenge that follows copies live objects onto pages the worker shares with the zygote,
 * each one a copy-on-write fault (perf: ~3 ms of every served `state`).
 */
function collectGarbage(): void {
  /* eslint-disable @typescript-eslint/no-var-requires */
  (require('v8') as typeof import('v8')).setFlagsFromString('--expose-gc');
  ((require('vm') as typeof import('vm')).runInNewContext('gc') as () => void)();
}

/** A forked worker's end without Node's teardown (it would hang, see warmQuit): process.exit and uncaught exceptions come here. */
function quitOnExit(code: number): void {
  warmNative().warmQuit(Number(process.exitCode ?? code ?? 0) || 0);
}

function serveOne(): void {
  const w = warmNative();
  event({ event: 'ready' });
  for (;;) {
    const got = w.warmAccept(LISTEN_FD, EVENTS_FD);
    if ('closed' in got) process.exit(0); // the supervisor is gone: no pool any more
    if ('error' in got) {
      event({ event: 'refused', reason: got.error });
      continue;
    }
    const req = answer(got);
    if (typeof req === 'string') {
      closeQuietly(got.stdio);
      event({ event: 'refused', reason: req });
      continue;
    }
    serve(got, req);
    return;
  }
}
