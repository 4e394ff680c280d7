import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tty from 'tty';

// The receiving end of --console-socket, as conmon and containerd's shim hold it, through
// the addon's SCM_RIGHTS receiver; and a bounded read of the pty master it hands over.

export interface ConsoleAddon {
  consoleListen(path: string): number | { errno: number; error: string };
  consoleRecvFd(fd: number, timeoutMs: number): { fd: number; name: string } | { errno: number; error: string };
}

/** The built addon's console-socket functions. */
export function consoleAddon(): ConsoleAddon {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return require(path.join(__dirname, '..', '..', 'build', 'Release', 'tsoci.node')) as ConsoleAddon;
}

/** A console socket the test listens on, like conmon; receive() waits up to recvTimeoutMs. */
export class ConsoleListener {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-out-console-'));
  readonly path = path.join(this.dir, 'console.sock');
  private fd: number;
  constructor(private readonly recvTimeoutMs = 10000) {
    const r = consoleAddon().consoleListen(this.path);
    if (typeof r !== 'number') throw new Error(r.error);
    this.fd = r;
  }
  receive(): { fd: number; name: string } {
    const r = consoleAddon().consoleRecvFd(this.fd, this.recvTimeoutMs);
    if ('error' in r) throw new Error(r.error);
    return r;
  }
  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Everything a pty master yields until the container side is closed (EIO) or timeoutMs
 * passes; the stream is closed then, and with it the fd.
 */
export function readMaster(fd: number, timeoutMs = 10000): Promise<string> {
  return new Promise((resolve) => {
    const stream = new tty.ReadStream(fd);
    let out = '';
    const done = () => {
      clearTimeout(timer);
      stream.destroy();
      resolve(out);
    };
    const timer = setTimeout(done, timeoutMs);
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => (out += d));
    stream.on('error', done);
    stream.on('end', done);
  });
}
