/**
 * LaunchPlan: the fully resolved instructions tsoci-init carries out.
 *
 * Produced by the pure planner (src/plan/plan.ts) from a validated spec and CLI options,
 * serialised as ONE line of JSON and sent to tsoci-init over the sync socket. tsoci-init
 * makes no policy decisions: every path is absolute, every flag is a number, every name
 * (capability, rlimit, signal) is already resolved.
 *
 * ## Sync protocol (newline-delimited JSON on the sync socket, fd number in TSOCI_SYNC_FD)
 *   runtime → init   the plan (one line)
 *   init → runtime   {"type":"pid","pid":<host pid of the container process>}
 *                    sent once the process exists in its new namespaces (after the user
 *                    namespace maps are written), before any mount is made.
 *   init → runtime   {"type":"hooks"}        namespaces are set up, rootfs mounts made,
 *                    pivot_root not yet done: the runtime runs prestart/createRuntime hooks
 *   runtime → init   {"type":"continue"}     (reply to "hooks")
 *   init → runtime   {"type":"ready"}        everything is set up; the executable was found;
 *                    (create mode) the init now blocks opening the exec fifo
 *   init → runtime   {"type":"error","step":"mount","path":"/proc","errno":2,"message":"…"}
 *                    a failure; the sender exits non-zero right after
 * In exec mode "ready" is sent just before execve (no fifo, no hooks message).
 * EOF before "ready" without an error line means the init died: a failure.
 *
 * ## Process shape
 * stage0 (tsoci-init spawned by node; host namespaces; already in the container's cgroups)
 *   └ stage1 (fork) joins namespaces by path, unshares user ns (stage0 writes maps),
 *     unshares the rest, writes time offsets
 *       └ stage2 (clone with CLONE_PARENT: a child of stage0, PID 1 of a new PID ns)
 *         does rootfs, credentials, waits on the exec fifo, execve()s process.args
 * stage0 in "detach" mode exits 0 once stage1 has exited successfully; in "foreground"
 * mode it waits for stage2 and exits with its status (128+signal when killed), acting as
 * a child subreaper so orphans of a container without a PID namespace are reaped.
 */

export const PLAN_VERSION = 1;

export type NamespaceType = 'user' | 'pid' | 'network' | 'ipc' | 'uts' | 'mount' | 'cgroup' | 'time';

export interface PlannedNamespace {
  type: NamespaceType;
  /** join this namespace (setns) when set; otherwise create a new one */
  path?: string;
}

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface PlannedMount {
  /** host path for binds (absolute), else the fs source string ("proc", "tmpfs") */
  source: string;
  /** absolute path inside the container (cleaned, no "..", no trailing slash) */
  destination: string;
  /** filesystem type; "bind" for bind mounts */
  type: string;
  /** MS_* flags for the mount(2) call (MS_BIND|MS_REC for rbind) */
  flags: number;
  /** filesystem data string (e.g. "mode=755,size=65536k") */
  data: string;
  /** when non-zero: a second mount(2) with MS_REMOUNT|MS_BIND|remountFlags (binds with ro, nosuid…) */
  remountFlags: number;
  /** binds: MS_* flags the options cleared (rw, dev, suid, exec...); non-zero also means a remount */
  clearedFlags?: number;
  /** each entry is one mount(2) call with only that propagation flag (MS_SHARED|MS_REC, …) */
  propagationFlags: number[];
  /** what to create at the destination if it is missing */
  createAs: 'dir' | 'file';
  /** mount_setattr(AT_RECURSIVE) attributes for r* options (rro, rnosuid, …): MOUNT_ATTR_* bits */
  recursiveAttrs?: { set: number; clear: number };
  /** a bind standing in for this file system (sysfs without a network namespace): its rules apply */
  replaces?: 'sysfs';
  /** tmpfs with the "tmpcopyup" option: the covered directory's content is copied into it */
  tmpcopyup?: boolean;
  /** id-mapped mount (idmap/ridmap, or mappings on the mount): applied with MOUNT_ATTR_IDMAP */
  idmap?: {
    uidMappings: IdMapping[];
    gidMappings: IdMapping[];
    recursive: boolean;
    /** idmap without mappings in a joined user namespace: that namespace (its path) is the mapping */
    userns?: string;
  };
}

export interface PlannedDevice {
  /** absolute path inside the container */
  path: string;
  type: 'c' | 'b' | 'u' | 'p';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
  /** bind-mount this host path instead of mknod (user namespaces cannot mknod) */
  bindFrom?: string;
}

export interface PlannedSymlink {
  /** what the link points to */
  target: string;
  /** absolute path of the link inside the container */
  path: string;
}

export interface PlannedRlimit {
  /** RLIMIT_* number */
  resource: number;
  soft: number;
  hard: number;
}

export interface PlannedCapabilities {
  /** capability numbers (CAP_CHOWN = 0 …) */
  bounding: number[];
  effective: number[];
  inheritable: number[];
  permitted: number[];
  ambient: number[];
}

export interface PlannedProcess {
  args: string[];
  env: string[];
  /** absolute path inside the container */
  cwd: string;
  uid: number;
  gid: number;
  additionalGids: number[];
  /** -1: leave as inherited */
  umask: number;
  terminal: boolean;
  consoleSize?: { height: number; width: number };
  noNewPrivileges: boolean;
  /** absent: leave capabilities unchanged (all of root's) */
  capabilities?: PlannedCapabilities;
  rlimits: PlannedRlimit[];
  /** absent: leave unchanged */
  oomScoreAdj?: number;
  /** sched_setattr(2) for the process (issue 3); policy is SCHED_* number, flags SCHED_FLAG_* */
  scheduler?: { policy: number; nice: number; priority: number; flags: number; runtime: number; deadline: number; period: number;
    /** linux.resources.cpu.cpus is set: EPERM from sched_setattr is reported as runc does */
    cpusetCpus?: boolean };
  /** ioprio_set(2): IOPRIO_CLASS_* number and level */
  ioPriority?: { class: number; priority: number };
  /** CPU lists like "0-3,7": initial applied before the runtime's work in the container, final just before execve */
  execCPUAffinity?: { initial?: string; final?: string };
  /** applied at exec when the host has the LSM (the planner refuses them otherwise) */
  apparmorProfile?: string;
  selinuxLabel?: string;
}

/** A hook tsoci-init runs itself (createContainer before pivot_root, startContainer before execve). */
export interface PlannedHook {
  path: string;
  args: string[];
  env: string[];
  /** seconds; 0 = none */
  timeout: number;
}

export interface LaunchPlan {
  version: typeof PLAN_VERSION;
  mode: 'create' | 'exec';
  /** detach: stage0 exits once the container process is set up; foreground: it waits */
  wait: 'detach' | 'foreground';
  /** ordered: joins and creations; tsoci-init handles user first itself */
  namespaces: PlannedNamespace[];
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
  /** write "deny" to /proc/<pid>/setgroups before gid_map (rootless-style maps) */
  setgroupsDeny: boolean;
  /** linux.timeOffsets: written to /proc/self/timens_offsets after unshare(CLONE_NEWTIME) */
  timeOffsets: { clock: 'monotonic' | 'boottime'; secs: number; nanosecs: number }[];
  hostname?: string;
  domainname?: string;
  /** absolute host path of the rootfs */
  rootfs: string;
  rootfsReadonly: boolean;
  /** MS_* propagation applied to "/" first (default MS_SLAVE|MS_REC); not applied without a mount namespace */
  rootfsPropagation: number;
  noPivot: boolean;
  /**
   * create mode without a mount namespace (the host's is shared: mounts beneath the rootfs,
   * chroot instead of pivot_root): the file in the container's state directory where
   * tsoci-init records each mount it makes, so that delete removes exactly those (host-mounts.ts)
   */
  hostMountRecord?: string;
  mounts: PlannedMount[];
  devices: PlannedDevice[];
  symlinks: PlannedSymlink[];
  maskedPaths: string[];
  readonlyPaths: string[];
  /** linux.sysctl, keys with dots; written under /proc/sys after pivot_root */
  sysctl: Record<string, string>;
  process: PlannedProcess;
  /** create mode: host path of the exec fifo the init blocks on until `start` */
  execFifo?: string;
  /** host path of the console socket (terminal: true) */
  consoleSocket?: string;
  /** tsoci --debug: tsoci-init writes its own debug lines (runc's nsexec ones) there; absent: none */
  debugLog?: { file?: string; format: 'text' | 'json' };
  /** tsoci relays the pty itself: no NL -> CR NL on it, set before the process can write (runc's ClearONLCR) */
  consoleClearOnlcr?: boolean;
  /** fds 3 … 3+preserveFds-1 are passed to the process */
  preserveFds: number;
  /** exec mode: host pid whose namespaces (/proc/<pid>/ns/*) are joined */
  execTargetPid?: number;
  /** send {"type":"hooks"} and wait for {"type":"continue"} (only when hooks are configured) */
  pauseForHooks: boolean;
  /** linux.personality: the persona number (PER_LINUX = 0, PER_LINUX32 = 8) plus flags */
  personality?: number;
  /**
   * seccomp, compiled by the runtime (addon, libseccomp) into classic BPF; tsoci-init only
   * loads it, as late as possible before execve. bpf: base64 of struct sock_filter[].
   */
  seccomp?: {
    bpf: string;
    /** SECCOMP_FILTER_FLAG_* */
    flags: number;
    /** SCMP_ACT_NOTIFY in the profile: load with NEW_LISTENER and send the fd here */
    listenerPath?: string;
    /** the container-process-state JSON to send with the fd; "pid" is filled in by the init */
    listenerState?: string;
  };
  /** linux.memoryPolicy: set_mempolicy(2) just before execve; mode MPOL_*, nodes "0-3,7", flags MPOL_F_* */
  memoryPolicy?: { mode: number; nodes: string; flags: number };
  /** hooks run by tsoci-init in the container's namespaces, with the state JSON on stdin */
  containerHooks?: { createContainer: PlannedHook[]; startContainer: PlannedHook[]; stateJson: string };
}
