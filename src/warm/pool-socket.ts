import * as fs from 'fs';
import * as net from 'net';
import { sysError, TsociError } from '../util/errors';

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
