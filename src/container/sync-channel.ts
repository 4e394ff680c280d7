import type { Socket } from 'net';

/** A message tsoci-init sends on the sync socket (see src/plan/launch-plan.ts). */
export type InitMessage =
  | { type: 'pid'; pid: number }
  | { type: 'hooks' }
  | { type: 'ready' }
  | { type: 'error'; step: string; path?: string; errno?: number; message: string };

/** Newline-delimited JSON over the sync socket, read one message at a time. */
export class SyncChannel {
  private buffer = '';
  private queue: (InitMessage | null)[] = [];
  private waiter: ((m: InitMessage | null) => void) | undefined;
  private ended = false;

  constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    const end = () => this.onEnd();
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }

  send(message: unknown): void {
    this.socket.write(JSON.stringify(message) + '\n');
  }

  /** The next message, or null once the init closed its end (it exited or exec'd). */
  next(): Promise<InitMessage | null> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => (this.waiter = resolve));
  }

  close(): void {
    this.socket.destroy();
  }

  private push(m: InitMessage | null): void {
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w(m);
    } else {
      this.queue.push(m);
    }
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (!line.trim()) continue;
      try {
        this.push(JSON.parse(line) as InitMessage);
      } catch {
        this.push({ type: 'error', step: 'sync', message: `malformed message from init: ${line.slice(0, 200)}` });
      }
    }
  }

  private onEnd(): void {
    if (this.ended) return;
    this.ended = true;
    this.push(null);
  }
}
