import * as fs from 'fs';

/** A message tsoci-init sends on the sync socket (see src/plan/launch-plan.ts). */
export type InitMessage =
  | { type: 'pid'; pid: number }
  | { type: 'hooks' }
  | { type: 'ready' }
  | { type: 'error'; step: string; path?: string; errno?: number; message: string };

/**
 * Newline-delimited JSON over the sync socket, with blocking reads and writes: the launch is
 * a strict request/reply sequence, so there is nothing for an event loop to do meanwhile
 * (and a net.Socket would cost a module load and a loop turn per message).
 */
export class SyncChannel {
  private pending = Buffer.alloc(0); // bytes, so a UTF-8 character split across reads stays whole
  private ended = false;
  private readonly chunk = Buffer.alloc(64 * 1024);

  constructor(private fd: number) {}

  send(message: unknown): void {
    const buf = Buffer.from(JSON.stringify(message) + '\n');
    for (let off = 0; off < buf.length; ) {
      try {
        off += fs.writeSync(this.fd, buf, off);
      } catch (err) {
        if (retryable(err)) continue;
        if ((err as NodeJS.ErrnoException).code === 'EPIPE') return; // the init is gone: next() reports it
        throw err;
      }
    }
  }

  /** The next message, or null once the init closed its end (it exited or exec'd). */
  next(): InitMessage | null {
    for (;;) {
      const nl = this.pending.indexOf(0x0a);
      if (nl >= 0) {
        const line = this.pending.toString('utf8', 0, nl);
        this.pending = this.pending.subarray(nl + 1);
        if (!line.trim()) continue;
        try {
          return JSON.parse(line) as InitMessage;
        } catch {
          return { type: 'error', step: 'sync', message: `malformed message from init: ${line.slice(0, 200)}` };
        }
      }
      if (this.ended) return null;
      this.fill();
    }
  }

  close(): void {
    if (this.fd < 0) return;
    fs.closeSync(this.fd);
    this.fd = -1;
  }

  private fill(): void {
    let n: number;
    try {
      n = fs.readSync(this.fd, this.chunk, 0, this.chunk.length, null);
    } catch (err) {
      if (retryable(err)) return;
      n = 0; // ECONNRESET and the like: the init is gone
    }
    if (n === 0) this.ended = true;
    else this.pending = Buffer.concat([this.pending, this.chunk.subarray(0, n)]);
  }
}

function retryable(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EINTR' || code === 'EAGAIN';
}
