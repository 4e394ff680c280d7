import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { TsociError } from '../util/errors';
import { writeOut } from '../util/out';
import { checkPoolDir, livePoolPid, processEnded, type PoolPaths } from './paths';
import { formatStatus, poolMemory, readStatus } from './status';

/** `warm start` waits this long for the supervisor to report its workers ready */
export const START_TIMEOUT_MS = 10000;
const STOP_TIMEOUT_MS = 10000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The promise's value, or undefined after ms (the timer is cleared: it keeps nothing alive). */
function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]).finally(() => clearTimeout(timer));
}

/** bin/loader.js: the one that runs this command (the supervisor and its workers load the same build) */
export function loaderPath(): string {
  const running = process.argv[1];
  return running && path.basename(running) === 'loader.js' ? running : path.join(__dirname, '..', 'bin', 'loader.js');
}

/**
 * `warm start`: daemonises a supervisor (new session, stdio /dev/null, cwd /) and waits on a
 * pipe for its word: "ready" once its workers are, or "error: …". Prints nothing on success.
 */
export async function startPool(p: PoolPaths, workers: number): Promise<void> {
  const running = livePoolPid(p);
  if (running !== undefined) {
    const s = readStatus(p.status);
    const gaveUp = s?.state === 'failed' ? `; it gave up (${s.reason}): tsoci warm stop, then start again` : '';
    throw new TsociError(`warm pool is already running (pid ${running}, ${p.dir})${gaveUp}`);
  }
  if (fs.existsSync(p.dir)) checkPoolDir(p.dir);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, TSOCI_WARM_DIR: p.dir };
  // a test's stand-in worker (test/fixtures); never set in use
  if (process.env.TSOCI_WARM_ZYGOTE_SCRIPT) env.TSOCI_WARM_ZYGOTE_SCRIPT = process.env.TSOCI_WARM_ZYGOTE_SCRIPT;
  const child = spawn(process.execPath, [loaderPath(), 'warm', 'supervise', '--workers', String(workers)], {
    detached: true,
    cwd: '/',
    env,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<string>((resolve) => child.once('exit', (code, sig) => resolve(sig ? `was killed by ${sig}` : `exited with status ${code}`)));
  const word = await new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), START_TIMEOUT_MS);
    let buf = '';
    const pipe = child.stdio[3] as NodeJS.ReadableStream;
    pipe.setEncoding('utf8');
    pipe.on('data', (d: string) => {
      buf += d;
      if (buf.includes('\n')) {
        clearTimeout(timer);
        resolve(buf.slice(0, buf.indexOf('\n')));
      }
    });
    pipe.on('error', () => undefined);
    pipe.on('end', () => {
      clearTimeout(timer);
      resolve(buf.includes('\n') ? buf.slice(0, buf.indexOf('\n')) : '');
    });
  });
  (child.stdio[3] as unknown as { destroy(): void }).destroy();
  if (word === 'ready') {
    child.unref();
    return;
  }
  if (word?.startsWith('error: ')) {
    // it cleans up after itself and exits
    await within(exited, STOP_TIMEOUT_MS);
    throw new TsociError(word.slice('error: '.length));
  }
  // no word: it died, or hangs; make sure nothing is left
  let how = 'did not report ready within ' + START_TIMEOUT_MS / 1000 + ' s';
  if (word === undefined) {
    child.kill('SIGTERM');
    if ((await within(exited, 2000)) === undefined) child.kill('SIGKILL');
  } else {
    how = await exited;
  }
  await exited;
  removePoolFiles(p);
  throw new TsociError(`warm pool: the supervisor ${how} before its workers were ready; nothing was left running`);
}

/** The files of a pool whose supervisor is gone (a socket only if it is one: a squatter's file is not ours). */
function removePoolFiles(p: PoolPaths): void {
  try {
    if (fs.lstatSync(p.socket).isSocket()) fs.rmSync(p.socket);
  } catch {
    /* none */
  }
  for (const f of [p.pid, p.status, p.log]) fs.rmSync(f, { force: true });
  try {
    fs.rmdirSync(p.dir);
  } catch {
    /* not empty or gone */
  }
}

/** `warm supervise` (run by `warm start` only): the supervisor, reporting on fd 3. */
export async function supervise(p: PoolPaths, workers: number): Promise<void> {
  const { Supervisor, ZYGOTE_NODE_FLAGS } = await import('./supervisor');
  const script = process.env.TSOCI_WARM_ZYGOTE_SCRIPT;
  const report = (line: string) => {
    try {
      fs.writeSync(3, line + '\n');
      fs.closeSync(3);
    } catch {
      /* `warm start` gave up waiting */
    }
  };
  const s = new Supervisor({ paths: p, workers, workerArgv: [process.execPath, ...ZYGOTE_NODE_FLAGS, script || loaderPath()], report });
  try {
    await s.start();
  } catch (err) {
    report(`error: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}

/** `warm stop`: SIGTERM to the supervisor, which ends its idle workers and removes its files; waits for it. */
export async function stopPool(p: PoolPaths): Promise<void> {
  const pid = livePoolPid(p);
  if (pid === undefined) throw new TsociError(`warm pool is not running (${p.dir})`);
  process.kill(pid, 'SIGTERM');
  const end = Date.now() + STOP_TIMEOUT_MS;
  // (its pid file names it until it has cleaned up; then wait for the process itself)
  while (!processEnded(pid) && Date.now() < end) await sleep(20);
  if (!processEnded(pid) && livePoolPid(p) === pid) {
    // hung: kill it; its workers see their event channel close and exit
    process.kill(pid, 'SIGKILL');
    while (!processEnded(pid)) await sleep(20);
    removePoolFiles(p);
  }
}

/** `warm status [--format json]` */
export function showStatus(p: PoolPaths, format: string | undefined): void {
  const pid = livePoolPid(p);
  const s = pid === undefined ? undefined : readStatus(p.status);
  if (pid === undefined || !s) throw new TsociError(`warm pool is not running (${p.dir})`);
  const memory = poolMemory(s);
  writeOut(format === 'json' ? JSON.stringify({ ...s, memory }, null, 2) + '\n' : formatStatus(s, memory));
}
