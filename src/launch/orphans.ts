/**
 * After a failed launch: tsoci-init stages that were re-parented to us (we are a child
 * subreaper during launch) when stage0 was killed — e.g. a stage1 that reported an error and
 * exited just before stage0 could wait for it. Left alone they become zombies of the host's
 * init once we exit. Kill (if still running) and reap every such child.
 */
import * as fs from 'fs';
import { native } from '../native';

export function reapOrphanedInits(): void {
  const self = String(process.pid);
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return;
  }
  for (const pid of entries) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    // "pid (comm) S ppid …"; comm may hold spaces and parentheses
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const ppid = stat.slice(close + 2).split(' ')[1];
    if (ppid !== self || comm !== 'tsoci-init') continue;
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* already a zombie */
    }
    native().reapChild(Number(pid));
  }
}
