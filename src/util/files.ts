import * as fs from 'fs';

/**
 * Removes a file that may already be gone. (Node 20's fs.rmSync loads its rimraf module on
 * every call, recursive or not: a millisecond of a cold command's start for one unlink.)
 */
export function unlinkIfPresent(p: string): void {
  try {
    fs.unlinkSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
