import * as fs from 'fs';
import * as path from 'path';
import { TsociError, sysError } from '../util/errors';
import type { InheritFd } from './messages';

/** runc's name: restore reconnects the container's stdio from what this records. */
export const DESCRIPTORS_FILE = 'descriptors.json';

/** What fds 0-2 of the container's process are ("pipe:[123]", "/dev/null", ...), like runc. */
export function writeDescriptors(imageDir: string, pid: number): void {
  const fds = [0, 1, 2].map((fd) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return '/dev/null';
    }
  });
  const file = path.join(imageDir, DESCRIPTORS_FILE);
  try {
    fs.writeFileSync(file, JSON.stringify(fds), { mode: 0o600 });
  } catch (err) {
    throw sysError('write', file, err);
  }
}

/** The container's pipes, to be replaced on restore by CRIU's own fds 0-2 (tsoci's stdio). */
export function stdioInheritFds(imageDir: string): InheritFd[] {
  const file = path.join(imageDir, DESCRIPTORS_FILE);
  let fds: unknown;
  try {
    fds = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code) throw sysError('restore: read', file, err);
    throw new TsociError(`restore: read ${file}: not a checkpoint image (${(err as Error).message})`);
  }
  if (!Array.isArray(fds) || !fds.every((s) => typeof s === 'string')) {
    throw new TsociError(`restore: read ${file}: not a checkpoint image (expected an array of strings)`);
  }
  const out: InheritFd[] = [];
  (fds as string[]).forEach((s, i) => {
    if (s.includes('pipe:')) out.push({ key: s, fd: i });
  });
  return out;
}

/** "<log>: <its first error line>": what a failed CRIU call adds to its message. */
export function criuLogSummary(logFile: string): string {
  let text: string;
  try {
    text = fs.readFileSync(logFile, 'utf8');
  } catch {
    return `see ${logFile}`;
  }
  // the first error is the cause (later ones are its consequences: "Dump files failed",
  // "Dumping FAILED."); the rlimit complaint (no CAP_SYS_RESOURCE) is harmless
  const lines = text.split('\n').filter((l) => /Error/.test(l) && !/RLIMIT_NOFILE|(Dumping|Restoring|Pre-dumping) FAILED/.test(l));
  const first = lines[0]?.replace(/^\(\s*[\d.]+\)\s*/, '').trim();
  return first ? `${logFile}: ${first}` : `see ${logFile}`;
}

/** Opens a directory for CRIU (it reads it as /proc/<our pid>/fd/<fd>). */
export function openDir(dir: string, what: string): number {
  try {
    return fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  } catch (err) {
    throw sysError(`open ${what}`, dir, err);
  }
}
