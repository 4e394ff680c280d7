import * as fs from 'fs';
import * as path from 'path';
import { HOST_MOUNT_RECORD, type HostMountRecordEntry, type HostMountRecordHeader } from '../plan/host-mounts';
import { TsociError } from '../util/errors';
import { childProcess } from '../util/lazy';
import { writeErr } from '../util/out';

/**
 * A container without a mount namespace made its mounts beneath its rootfs in the host's
 * mount table, and tsoci-init recorded each one (src/plan/host-mounts.ts). Unmounts those
 * still there (lazily: whatever was mounted beneath them goes along), so delete leaves the
 * host's mount table as it was. Nothing to do without a record. Throws when a mount stays:
 * the state directory (and the record) is then kept, and `delete` can be retried.
 */
export function removeHostMounts(containerDir: string): void {
  const file = path.join(containerDir, HOST_MOUNT_RECORD);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // no record: nothing was mounted
    throw new TsociError(`read ${file}: ${(err as Error).message}`);
  }
  // a line cut short (the init killed while writing it) is the only unparsable one
  const lines = text.split('\n').filter(Boolean).flatMap((l) => {
    try {
      return [JSON.parse(l) as unknown];
    } catch {
      return [];
    }
  });
  const header = lines[0] as HostMountRecordHeader | undefined;
  if (!header || header.version !== 1 || typeof header.rootfs !== 'string') return; // cut short before any mount
  const made = lines.slice(1) as HostMountRecordEntry[];
  if (made.length === 0) return;
  const ns = readlinkOr('/proc/self/ns/mnt');
  if (header.mntns && ns && header.mntns !== ns) {
    throw new TsociError(`the container's mounts below ${header.rootfs} are in mount namespace ${header.mntns}, not in ours (${ns}): delete it from there`);
  }
  const ours = new Set(made.map((m) => `${m.id} ${m.path}`));
  let failures: string[] = [];
  for (let round = 0; round < 16; round++) {
    const mounts = readMountInfo();
    const left = mounts.filter((m) => ours.has(`${m.id} ${m.mountPoint}`));
    if (left.length === 0) return;
    const ids = new Set(left.map((m) => m.id));
    failures = [];
    // the topmost first: a lazy unmount takes everything beneath it along
    for (const m of left.filter((o) => !ids.has(o.parent))) {
      const r = childProcess().spawnSync('umount', ['--lazy', '--no-canonicalize', '--', m.mountPoint], { encoding: 'utf8' });
      if (r.status !== 0) failures.push(`${m.mountPoint}: ${(r.stderr || r.error?.message || `umount exited with ${r.status}`).trim()}`);
    }
  }
  throw new TsociError(`unmount the container's mounts below ${header.rootfs}: ${failures.join('; ') || 'still mounted'}`);
}

interface MountEntry {
  id: number;
  parent: number;
  mountPoint: string;
}

function readMountInfo(): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f.length < 5) continue;
    out.push({ id: Number(f[0]), parent: Number(f[1]), mountPoint: unescape(f[4]) });
  }
  return out;
}

/** mountinfo writes space, tab, newline and backslash as \ooo */
function unescape(s: string): string {
  return s.replace(/\\([0-3][0-7]{2})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

function readlinkOr(p: string): string {
  try {
    return fs.readlinkSync(p);
  } catch {
    return '';
  }
}
