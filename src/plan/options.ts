/**
 * PlanOptions: everything the pure planner needs that does not come from config.json —
 * CLI options and facts about the host, gathered by the caller (src/container/*).
 */
import type { Process } from '../spec/types';

export interface PlanOptions {
  /** absolute path of the bundle directory (root.path and relative bind sources resolve against it) */
  bundle: string;
  /** the container id (create mode): goes into the state JSON of the hooks tsoci-init runs */
  containerId?: string;
  mode: 'create' | 'exec';
  /** detach: stage0 exits once the container process is set up; foreground: it waits */
  wait: 'detach' | 'foreground';
  /** create mode: host path of the exec fifo */
  execFifo?: string;
  /** host path of the --console-socket (required when process.terminal and detaching) */
  consoleSocket?: string;
  /** --preserve-fds N: fds 3 … 3+N-1 are passed to the process */
  preserveFds: number;
  /** --no-pivot: use MS_MOVE + chroot instead of pivot_root */
  noPivot: boolean;
  /** exec mode: host pid of the container's init whose namespaces are joined */
  execTargetPid?: number;
  /** exec mode: the process to run (the --process JSON, or built from argv); overrides spec.process */
  process?: Process;
  /**
   * runtime runs without root in the host (--rootless or euid != 0): a single gid mapping
   * of size 1 then means writing "deny" to /proc/<pid>/setgroups before gid_map.
   */
  rootless?: boolean;
  /** false when the kernel lacks time namespaces (/proc/self/timens_offsets missing) */
  hostHasTimeNs?: boolean;
  /** true when the host has /proc/kcore: add the /dev/core → /proc/kcore symlink like runc */
  hostHasKcore?: boolean;
  /** AppArmor is enabled on the host (src/host/host-lsm.ts); else an apparmorProfile is refused */
  hostHasAppArmor?: boolean;
  /** SELinux is enabled on the host; else a selinuxLabel is refused and linux.mountLabel ignored */
  hostHasSELinux?: boolean;
  /**
   * Whether a host path is a directory (follows symlinks). Used for bind-mount sources to
   * decide what to create at the destination. Default: every source is a directory.
   * Missing paths should answer true (the mount will fail later with a clear errno).
   */
  isDirectory?: (hostPath: string) => boolean;
}
