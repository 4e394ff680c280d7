import * as fs from 'fs';
import { liveStatus, openContainer, type ContainerDir, type StoredState } from '../state/store';
import { isSameProcessAlive } from '../state/proc';
import { TsociError, sysError } from '../util/errors';
import { unlinkIfPresent } from '../util/files';
import type { GlobalOptions } from './options';

/**
 * `start`: release the init blocked on the exec fifo so it execs process.args.
 * Only a `created` container can be started; anything else is an error with no effect.
 */
export function start(opts: GlobalOptions & { id: string }): void {
  const { cdir, state } = openContainer(opts.root, opts.id);
  cdir.lock();
  try {
    const status = liveStatus(cdir, state);
    if (status !== 'created') {
      throw new TsociError(status === 'stopped' ? 'cannot start a container that has stopped' : `cannot start a container that is ${status}`);
    }
    releaseInit(cdir, state);
  } finally {
    cdir.release();
  }
}

/** Opens the fifo's read side (the init's blocked open then completes) and reads its byte. */
export function releaseInit(cdir: ContainerDir, state: StoredState): void {
  let fd: number;
  try {
    fd = fs.openSync(cdir.fifoPath, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    throw sysError('open exec fifo', cdir.fifoPath, err);
  }
  try {
    const buf = Buffer.alloc(1);
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    for (let spins = 0; ; spins++) {
      let n = 0;
      let writerOpen = false;
      try {
        n = fs.readSync(fd, buf, 0, 1, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw sysError('read exec fifo', cdir.fifoPath, err);
        writerOpen = true;
      }
      if (n === 1) break;
      // n === 0 (no writer yet) or EAGAIN: the init is between its open and its write
      // (running startContainer hooks, which may take up to their timeouts: no limit then)
      if (!isSameProcessAlive(state.pid, state.initStartTime)) {
        // the init may have written its byte, exec'd and exited since the read above
        if (readOnce(fd, buf) === 1) break;
        throw new TsociError('cannot start a container that has stopped');
      }
      if (spins > 10000 && !writerOpen) throw new TsociError(`start: the container's init did not answer on ${cdir.fifoPath}`);
      Atomics.wait(sleeper, 0, 0, spins < 100 ? 0.1 : 1);
    }
    // "E<message>\n": a startContainer hook failed and the init exits (see cpp/init/hooks.h)
    if (buf[0] === 0x45) throw new TsociError(readFifoMessage(fd), 'EHOOK');
    waitForExec(fd, state);
  } finally {
    fs.closeSync(fd);
  }
  unlinkIfPresent(cdir.fifoPath);
}

/**
 * The init writes its byte just before execve(); its write end is close-on-exec, so EOF
 * on the fifo means the process has been executed (or is gone). Poststart hooks run after
 * this (config.md: "after the user-specified process is executed"): reading the byte alone
 * let a hook race the process's execve. Bounded: a stopped init does not hang `start`.
 */
function waitForExec(fd: number, state: StoredState, timeoutMs = 2000): void {
  const buf = Buffer.alloc(16);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const end = Date.now() + timeoutMs;
  for (let spins = 0; Date.now() < end; spins++) {
    try {
      if (fs.readSync(fd, buf, 0, buf.length, null) === 0) return; // EOF: no writer left
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return;
    }
    if (!isSameProcessAlive(state.pid, state.initStartTime)) return;
    Atomics.wait(sleeper, 0, 0, spins < 100 ? 0.05 : 1);
  }
}

/** The rest of the init's error line on the fifo (it exits right after writing it). */
function readFifoMessage(fd: number): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(4096);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (let spins = 0; spins < 5000; spins++) {
    let n = -1;
    try {
      n = fs.readSync(fd, buf, 0, buf.length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') break;
    }
    if (n === 0) break;
    if (n > 0) {
      chunks.push(Buffer.from(buf.subarray(0, n)));
      if (buf.subarray(0, n).includes(0x0a)) break;
    } else {
      Atomics.wait(sleeper, 0, 0, 1);
    }
  }
  return Buffer.concat(chunks).toString('utf8').split('\n')[0] || 'a startContainer hook failed';
}

function readOnce(fd: number, buf: Buffer): number {
  try {
    return fs.readSync(fd, buf, 0, 1, null);
  } catch {
    return 0;
  }
}
