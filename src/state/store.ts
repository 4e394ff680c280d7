import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { native, errnoName } from '../native';
import { TsociError, sysError } from '../util/errors';
import { containerDir } from './paths';
import { isSameProcessAlive } from './proc';
import { isFrozen } from '../cgroups/manage';
import { processExists } from '../util/processes';
import { unlinkIfPresent } from '../util/files';

export type Status = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

/** What <root>/<id>/state.json holds. The live status is derived, never trusted from disk. */
export interface StoredState {
  ociVersion: string;
  id: string;
  /** the phase create reached; "creating" until the init reported ready */
  phase: 'creating' | 'created';
  pid: number;
  /** /proc/<pid>/stat field 22, to detect PID reuse */
  initStartTime?: string;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
  /** the container has its own PID namespace (kill --all and delete rely on it) */
  ownPidNamespace: boolean;
  /** cgroup directories by controller ("" for cgroup v2), created by tsoci */
  cgroupPaths?: Record<string, string>;
  /** systemd driver: the transient unit holding the cgroups (stopped by delete) */
  systemdUnit?: string;
  /** the spec kept for later operations (hooks at start/delete, exec defaults) */
  hasSpecCopy?: boolean;
}

export const STATE_FILE = 'state.json';
export const FIFO_FILE = 'exec.fifo';
export const LOCK_FILE = 'lock';
export const SPEC_FILE = 'config.json';

/** An unprivileged user with no XDG_RUNTIME_DIR lands on /run/tsoci, as with runc: say what to do. */
function rootError(e: TsociError): TsociError {
  if (process.geteuid?.() === 0 || !['EACCES', 'EPERM', 'EROFS'].includes(e.code ?? '')) return e;
  return new TsociError(`${e.message}: set XDG_RUNTIME_DIR to a directory of yours, or pass --root`, e.code);
}

const ETIMEDOUT = os.constants.errno.ETIMEDOUT;
/**
 * How long a command waits for a container's lock (another tsoci's create holds it through
 * its hooks). TSOCI_LOCK_TIMEOUT_MS shortens it for tests.
 */
export const LOCK_TIMEOUT_MS = Number(process.env.TSOCI_LOCK_TIMEOUT_MS) || 60_000;

/** One container's directory under the root, and the operations on its files. */
export class ContainerDir {
  readonly dir: string;
  private lockFd = -1;

  constructor(readonly root: string, readonly id: string) {
    this.dir = containerDir(root, id);
  }

  get statePath(): string { return path.join(this.dir, STATE_FILE); }
  get fifoPath(): string { return path.join(this.dir, FIFO_FILE); }
  get specPath(): string { return path.join(this.dir, SPEC_FILE); }

  exists(): boolean {
    return fs.existsSync(this.statePath) || fs.existsSync(this.dir);
  }

  /** Claims the id: mkdir is atomic, so of two concurrent creates exactly one wins. */
  claim(): void {
    try {
      fs.mkdirSync(this.root, { recursive: true, mode: 0o711 });
    } catch (err) {
      throw rootError(sysError('create state root', this.root, err));
    }
    try {
      fs.mkdirSync(this.dir, { mode: 0o711 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new TsociError(`container with id exists: ${this.id}`, 'EEXIST');
      }
      throw rootError(sysError('create state directory', this.dir, err));
    }
  }

  /**
   * Exclusive flock held until release() or process exit; every mutating operation takes it.
   * The wait is bounded (LOCK_TIMEOUT_MS): a holder that never lets go is an error, not a hang.
   * It blocks the event loop: where JS signal handlers are installed, use lockAsync().
   */
  lock(nonblocking = false): boolean {
    if (this.lockFd >= 0) return true;
    const fd = this.openLock();
    const rc = nonblocking ? native().flock(fd, true, true) : native().flockWait(fd, LOCK_TIMEOUT_MS);
    if (rc !== 0) {
      fs.closeSync(fd);
      if (nonblocking && errnoName(rc) === 'EAGAIN') return false;
      throw this.lockError(rc);
    }
    this.lockFd = fd;
    return true;
  }

  /** lock(), waiting on the event loop: signal handlers (run's forwarding) run meanwhile. */
  async lockAsync(): Promise<void> {
    if (this.lockFd >= 0) return;
    const fd = this.openLock();
    const deadline = Date.now() + LOCK_TIMEOUT_MS;
    for (let pause = 1; ; pause = Math.min(pause * 2, 20)) {
      const rc = native().flock(fd, true, true);
      if (rc === 0) break;
      if (errnoName(rc) !== 'EAGAIN' || Date.now() >= deadline) {
        fs.closeSync(fd);
        throw this.lockError(errnoName(rc) === 'EAGAIN' ? ETIMEDOUT : rc);
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
    this.lockFd = fd;
  }

  private openLock(): number {
    try {
      return fs.openSync(path.join(this.dir, LOCK_FILE), fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    } catch (err) {
      // deleted (its directory renamed away) since it was opened: what the caller reports for an unknown id
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new TsociError(`container "${this.id}" does not exist`, 'ENOENT');
      throw sysError('open lock', path.join(this.dir, LOCK_FILE), err);
    }
  }

  private lockError(rc: number): TsociError {
    if (rc === ETIMEDOUT) {
      return new TsociError(`lock ${this.dir}: still held by another process after ${LOCK_TIMEOUT_MS / 1000} s`, 'ETIMEDOUT');
    }
    return new TsociError(`lock ${this.dir}: ${errnoName(rc)}`);
  }

  release(): void {
    if (this.lockFd >= 0) fs.closeSync(this.lockFd);
    this.lockFd = -1;
  }

  /** True when another process holds the lock (a create still in progress). */
  isLockedByOther(): boolean {
    if (this.lockFd >= 0) return false;
    try {
      if (!this.lock(true)) return true;
    } catch {
      return false;
    }
    this.release();
    return false;
  }

  read(): StoredState {
    let text: string;
    try {
      text = fs.readFileSync(this.statePath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new TsociError(`container "${this.id}" does not exist`, 'ENOENT');
      }
      throw sysError('read state', this.statePath, err);
    }
    try {
      return JSON.parse(text) as StoredState;
    } catch (err) {
      throw new TsociError(`read state ${this.statePath}: corrupt state file: ${(err as Error).message}`);
    }
  }

  /** Atomic: a reader sees the old file or the new one, never half of one. */
  write(state: StoredState): void {
    const tmp = `${this.statePath}.${process.pid}.tmp`;
    try {
      fs.writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
      fs.renameSync(tmp, this.statePath);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw sysError('write state', this.statePath, err);
    }
  }

  /**
   * Renamed away first (a dot name: never an id), then emptied: from the rename on the id is
   * gone for every other tsoci, and none of them can re-create a file (its lock) inside a
   * directory being emptied, which made the rmdir fail with ENOTEMPTY under concurrent deletes.
   */
  remove(): void {
    const trash = path.join(this.root, `.removing-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`);
    let target = this.dir;
    try {
      fs.renameSync(this.dir, trash);
      target = trash;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    }
    removeFlatDir(target);
  }
}

const TRASH = /^\.removing-(\d+)-/;

/**
 * Removes what a tsoci killed between remove()'s rename and its rmdir left under the root
 * (`.removing-<pid>-…` of a pid that is gone): nothing else would, as its id is gone.
 * `names`: the root's entries when the caller has read them already.
 */
export function sweepStaleRemovals(root: string, names?: string[]): void {
  try {
    names ??= fs.readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    const m = TRASH.exec(name);
    if (!m || processExists(Number(m[1]))) continue;
    try {
      removeFlatDir(path.join(root, name));
    } catch {
      /* another tsoci sweeping the same entry */
    }
  }
}


/**
 * A container directory holds files only: unlink them and rmdir. (fs.rmSync loads Node's
 * rimraf module, ~5 ms of every delete.) Anything unexpected (a directory) goes to rmSync.
 */
function removeFlatDir(dir: string): void {
  for (let attempt = 0; ; attempt++) {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) fs.rmSync(p, { recursive: true, force: true });
      else unlinkIfPresent(p);
    }
    try {
      fs.rmdirSync(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      // another tsoci re-created the lock file meanwhile (it finds the directory gone and gives up)
      if (code !== 'ENOTEMPTY' || attempt >= 5) throw err;
    }
  }
}

/** The status a container is in right now, from its stored phase and the live process. */
export function liveStatus(cdir: ContainerDir, st: StoredState): Status {
  if (st.phase === 'creating') return cdir.isLockedByOther() ? 'creating' : 'stopped';
  if (!isSameProcessAlive(st.pid, st.initStartTime)) return 'stopped';
  // frozen first, like runc: a created container can be paused too
  if (st.cgroupPaths && isFrozen(st.cgroupPaths)) return 'paused';
  if (fs.existsSync(cdir.fifoPath)) return 'created';
  return 'running';
}

/** Opens an existing container: its directory and stored state. */
export function openContainer(root: string, id: string): { cdir: ContainerDir; state: StoredState } {
  const cdir = new ContainerDir(root, id);
  return { cdir, state: cdir.read() };
}
