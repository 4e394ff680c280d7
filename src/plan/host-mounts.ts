/**
 * A container without a mount namespace of its own shares the runtime's (the host's):
 * its mounts are made beneath the rootfs in the host's mount table and the process is
 * chroot()ed there, as runc and crun do. Unlike them, tsoci puts nothing else into the
 * host's mount table (no propagation change of "/" or of the rootfs' parent, no self-bind
 * of the rootfs) and leaves nothing behind: tsoci-init records each mount as it makes it,
 * and `delete` (or a failed create) unmounts those (src/host/host-mounts.ts).
 */
import * as path from 'path';
import { TsociError } from '../util/errors';

/** The record's name in the container's state directory (beside the exec fifo). */
export const HOST_MOUNT_RECORD = 'host-mounts.json';

/**
 * What tsoci-init writes there (cpp/init/host_mounts.cc), one JSON object a line: the
 * header, then one line per mount, appended right after the mount(2) that made it.
 */
export interface HostMountRecordHeader {
  version: 1;
  /** the rootfs, symlinks resolved */
  rootfs: string;
  /** the mount namespace the mounts are made in (readlink /proc/self/ns/mnt) */
  mntns: string;
}
export interface HostMountRecordEntry {
  /** mount id, as the first field of /proc/self/mountinfo */
  id: number;
  /** its mount point on the host, as mountinfo's fifth field (unescaped) */
  path: string;
}

/**
 * Where tsoci-init records the host's mounts: the exec fifo lives in the container's
 * state directory (src/state/store.ts), so the record goes beside it.
 */
export function hostMountRecordPath(execFifo: string | undefined): string {
  if (!execFifo) throw new TsociError('linux.namespaces: a container without a mount namespace needs a state directory (exec fifo)');
  return path.join(path.dirname(execFifo), HOST_MOUNT_RECORD);
}
