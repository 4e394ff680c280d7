import * as fs from 'fs';
import * as path from 'path';
import { sysError, TsociError } from '../util/errors';

/**
 * Where the warm pool lives (src/warm/README.md): $TSOCI_WARM_DIR if set; else /run/tsoci/.warm
 * for euid 0; else $XDG_RUNTIME_DIR/tsoci/.warm; without XDG_RUNTIME_DIR there is no pool.
 * The launcher (cpp/launcher) computes the same path by the same rule.
 */
export function warmDir(env: NodeJS.ProcessEnv = process.env, euid = process.geteuid?.() ?? 0): string | undefined {
  if (env.TSOCI_WARM_DIR) return path.resolve(env.TSOCI_WARM_DIR);
  if (euid === 0) return '/run/tsoci/.warm';
  const xdg = env.XDG_RUNTIME_DIR;
  return xdg ? path.join(xdg, 'tsoci', '.warm') : undefined;
}

export interface PoolPaths {
  dir: string;
  socket: string;
  pid: string;
  status: string;
  /** the supervisor's own log (a worker that failed to start, why the pool gave up) */
  log: string;
}

export function poolPaths(dir: string): PoolPaths {
  return {
    dir,
    socket: path.join(dir, 'pool.sock'),
    pid: path.join(dir, 'supervisor.pid'),
    status: path.join(dir, 'status.json'),
    log: path.join(dir, 'supervisor.log'),
  };
}

/** The pool directory, or the error saying why there is none (no XDG_RUNTIME_DIR). */
export function requirePoolPaths(env: NodeJS.ProcessEnv = process.env): PoolPaths {
  const dir = warmDir(env);
  if (!dir) throw new TsociError('warm pool: no pool directory: $XDG_RUNTIME_DIR is not set (or set $TSOCI_WARM_DIR)');
  return poolPaths(dir);
}

/**
 * The pool directory must be ours alone: a directory (not a symlink), owned by the euid,
 * with no group/other access. Anything else is refused, never "fixed": someone else may
 * have made it to catch our commands.
 */
export function checkPoolDir(dir: string, euid = process.geteuid?.() ?? 0): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch (err) {
    throw sysError('warm pool: stat', dir, err);
  }
  if (st.isSymbolicLink()) throw new TsociError(`warm pool: ${dir} is a symlink: refusing to use it`);
  if (!st.isDirectory()) throw new TsociError(`warm pool: ${dir} is not a directory: refusing to use it`);
  if (st.uid !== euid) throw new TsociError(`warm pool: ${dir} is owned by uid ${st.uid}, not ${euid}: refusing to use it`);
  if ((st.mode & 0o077) !== 0) {
    throw new TsociError(`warm pool: ${dir} has mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}, group or others have access: refusing to use it (want 0700)`);
  }
}

/** Makes the pool directory (0700; its parents 0700 when missing) and checks it. */
export function makePoolDir(dir: string): void {
  const parent = path.dirname(dir);
  try {
    if (!fs.existsSync(parent)) fs.mkdirSync(parent, { recursive: true, mode: 0o700 });
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw sysError('warm pool: create', dir, err);
  }
  checkPoolDir(dir);
}

/** The supervisor's pid when one is alive (its pid file names a live supervisor), else undefined. */
export function livePoolPid(p: PoolPaths): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(p.pid, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let cmdline: string;
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined;
  }
  // a recycled pid is some other process: ours runs `… warm supervise …`
  const args = cmdline.split('\0');
  const at = args.indexOf('warm');
  return at >= 0 && args[at + 1] === 'supervise' ? pid : undefined;
}

/** Whether a process has ended (gone, or a zombie waiting for its parent to reap it). */
export function processEnded(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return true;
  }
}
