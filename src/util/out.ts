import { writeSync } from 'fs';

/**
 * Synchronous writes to fds 1 and 2. Touching process.stdout/stderr loads Node's stream
 * machinery (~9 ms of a short command's start-up); a runtime's output is small and must
 * be complete before it exits anyway.
 */
function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text);
  for (let off = 0; off < buf.length; ) {
    try {
      off += writeSync(fd, buf, off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') continue; // a non-blocking pipe that is full: retry
      if (code === 'EPIPE' || code === 'EBADF') return; // nobody is reading
      throw err;
    }
  }
}

export function writeOut(text: string): void {
  writeAll(1, text);
}

export function writeErr(text: string): void {
  writeAll(2, text);
}
