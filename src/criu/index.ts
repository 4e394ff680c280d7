import * as fs from 'fs';
import * as path from 'path';
import type { Spec } from '../spec/types';
import type { CgroupPaths } from '../cgroups';
import { parseProcCgroup } from '../cgroups';
import { native } from '../native';
import { TsociError, sysError } from '../util/errors';
import { findCriu } from './binary';
import { criuLogSummary, openDir, stdioInheritFds, writeDescriptors } from './images';
import { CG_MODES, ReqType, type CriuOpts, type InheritFd, type JoinNamespace } from './messages';
import { createMountPoints, externalMounts, maskedFileIn } from './mounts';
import { checkFeatures, checkVersion, CriuFailure, swrk, type Notification } from './swrk';

/** runc's checkpoint/restore flags that pass through to CRIU. */
export interface CriuFlags {
  workPath?: string;
  tcpEstablished?: boolean;
  tcpSkipInFlight?: boolean;
  linkRemap?: boolean;
  extUnixSk?: boolean;
  shellJob?: boolean;
  fileLocks?: boolean;
  autoDedup?: boolean;
  lazyPages?: boolean;
  manageCgroupsMode?: string;
  /** namespaces created empty on restore ("network"); the network always is, as with runc */
  emptyNs?: string[];
}

/** The container as CRIU needs to know it. */
export interface ContainerFacts {
  spec: Spec;
  rootfs: string;
  cgroupPaths: CgroupPaths;
}

export interface DumpRequest extends CriuFlags, ContainerFacts {
  imagePath: string;
  /** relative to imagePath: the previous (pre-)dump */
  parentPath?: string;
  leaveRunning?: boolean;
  preDump?: boolean;
  pid: number;
  statusFd?: number;
}

export interface RestoreRequest extends CriuFlags, ContainerFacts {
  imagePath: string;
  /** the rootfs bind-mounted on its own (CRIU wants a mount point whose parent is not overmounted) */
  root: string;
  consoleSocket?: string;
  /** CRIU's own stdio, which replaces the container's pipes (tsoci's, or conmon's) */
  stdio: [number | 'inherit' | 'ignore', number | 'inherit' | 'ignore', number | 'inherit' | 'ignore'];
}

export interface RestoreEvents {
  /** CRIU runs: put it into the container's cgroups, so what it restores starts there */
  onSpawned(criuPid: number): Promise<void>;
  /** namespaces exist, the process does not run yet: prestart and createRuntime hooks */
  onNamespaces(pid: number): Promise<void>;
  /** the process is restored (still stopped until CRIU answers) */
  onRestored(pid: number): void;
}

const CLONE_NEWNET = 0x40000000;
const CRIU_NS: Record<string, string> = { network: 'net', mount: 'mnt', pid: 'pid', ipc: 'ipc', uts: 'uts', user: 'user', time: 'time', cgroup: 'cgroup' };
const EXT_KEY: Record<string, string> = { net: 'extRootNetNS', pid: 'extRootPidNS' };

/**
 * CRIU, as tsoci drives it: everything about images, RPC messages, namespaces and mounts
 * lives behind dump() and restore(); the container operations only say what to do.
 */
export class Criu {
  private constructor(readonly binary: string, readonly version: string) {}

  /** Finds CRIU (--criu, the set-up script's cache, $PATH) and checks its version. */
  static async open(explicit?: string): Promise<Criu> {
    const binary = findCriu(explicit);
    return new Criu(binary, await checkVersion(binary));
  }

  async dump(r: DumpRequest): Promise<void> {
    const imageFd = openDir(r.imagePath, 'image directory');
    const workFd = r.workPath ? openDir(mkdir(r.workPath), 'work directory') : undefined;
    const logFile = path.join(r.workPath ?? r.imagePath, r.preDump ? 'pre-dump.log' : 'dump.log');
    try {
      if (r.preDump) await this.need({ memTrack: true });
      if (r.lazyPages) await this.need({ lazyPages: true });
      const opts: CriuOpts = {
        ...common(r, imageFd, workFd, path.basename(logFile)),
        pid: r.pid,
        root: r.rootfs,
        leaveRunning: !!r.leaveRunning,
        tcpSkipInFlight: !!r.tcpSkipInFlight,
        linkRemap: !!r.linkRemap,
        external: externalNamespaces(r.spec),
      };
      const freezer = r.cgroupPaths.freezer;
      if (freezer) opts.freezeCgroup = freezer;
      if (r.parentPath) {
        opts.parentImg = r.parentPath;
        opts.trackMem = true;
      }
      if (r.lazyPages && r.statusFd !== undefined && r.statusFd >= 0) opts.statusFd = r.statusFd;
      if (!r.preDump) {
        opts.extMnt = externalMounts(r.spec, r.cgroupPaths, { dump: true, maskedFileExists: maskedFileIn(r.pid) });
        writeDescriptors(r.imagePath, r.pid);
      }
      await this.call(r.preDump ? ReqType.PRE_DUMP : ReqType.DUMP, opts, logFile, {
        onNotify: (n) => {
          if (n.script === 'status-ready' && r.statusFd !== undefined && r.statusFd >= 0) writeStatus(r.statusFd);
        },
      });
    } finally {
      fs.closeSync(imageFd);
      if (workFd !== undefined) fs.closeSync(workFd);
    }
  }

  /** Restores the process tree as our child (rst_sibling); returns its pid. */
  async restore(r: RestoreRequest, events: RestoreEvents): Promise<number> {
    const imageFd = openDir(r.imagePath, 'image directory');
    const workFd = r.workPath ? openDir(mkdir(r.workPath), 'work directory') : undefined;
    const logFile = path.join(r.workPath ?? r.imagePath, 'restore.log');
    const nsFds: number[] = [];
    try {
      const inheritFd: InheritFd[] = stdioInheritFds(r.imagePath);
      const joinNs: JoinNamespace[] = [];
      for (const ns of r.spec.linux?.namespaces ?? []) {
        const name = CRIU_NS[ns.type] ?? ns.type;
        if (!ns.path) continue;
        if (EXT_KEY[name]) {
          // the namespace was dumped as external: CRIU gets an fd of the one to restore into
          try {
            nsFds.push(fs.openSync(ns.path, fs.constants.O_RDONLY));
          } catch (err) {
            throw sysError(`restore: open ${ns.type} namespace`, ns.path, err);
          }
          inheritFd.push({ key: EXT_KEY[name], fd: 3 + nsFds.length });
        } else if (name === 'cgroup') {
          throw new TsociError(`restore: joining a cgroup namespace (${ns.path}) is not supported by criu`);
        } else {
          joinNs.push({ ns: name, nsFile: ns.path });
        }
      }
      createMountPoints(r.root, r.spec);
      const opts: CriuOpts = {
        ...common(r, imageFd, workFd, path.basename(logFile)),
        root: r.root,
        evasiveDevices: true,
        rstSibling: true,
        inheritFd,
        joinNs,
        extMnt: externalMounts(r.spec, r.cgroupPaths, { dump: false }),
      };
      let pid = 0;
      await this.call(ReqType.RESTORE, opts, logFile, {
        stdio: r.stdio,
        extraFds: nsFds,
        onSpawned: async (criuPid) => {
          await events.onSpawned(criuPid);
          opts.cgRoot = cgroupRoots(criuPid);
        },
        onNotify: async (n: Notification) => {
          if (n.script === 'setup-namespaces') await events.onNamespaces(n.pid);
          else if (n.script === 'post-restore') {
            pid = n.pid;
            events.onRestored(n.pid);
          } else if (n.script === 'orphan-pts-master') sendConsole(r.consoleSocket, n.fd);
        },
      });
      if (!pid) throw new TsociError(`restore: criu did not report the restored process (${criuLogSummary(logFile)})`);
      return pid;
    } finally {
      fs.closeSync(imageFd);
      if (workFd !== undefined) fs.closeSync(workFd);
      for (const fd of nsFds) fs.closeSync(fd);
    }
  }

  private async need(features: { memTrack?: boolean; lazyPages?: boolean }): Promise<void> {
    await checkFeatures(this.binary, features);
  }

  private async call(type: ReqType, opts: CriuOpts, logFile: string, extra: Parameters<typeof swrk>[2]): Promise<void> {
    try {
      await swrk(this.binary, { type, opts }, extra);
    } catch (err) {
      if (err instanceof CriuFailure) throw new TsociError(`${err.message} (${criuLogSummary(logFile)})`);
      throw err;
    }
  }
}

function common(r: CriuFlags, imageFd: number, workFd: number | undefined, logFile: string): CriuOpts {
  const mode = r.manageCgroupsMode ?? '';
  return {
    imagesDirFd: imageFd,
    ...(workFd !== undefined ? { workDirFd: workFd } : {}),
    logLevel: 4,
    logFile,
    manageCgroups: true,
    manageCgroupsMode: CG_MODES[mode || 'default'],
    notifyScripts: true,
    shellJob: !!r.shellJob,
    extUnixSk: !!r.extUnixSk,
    tcpEstablished: !!r.tcpEstablished,
    fileLocks: !!r.fileLocks,
    emptyNs: emptyNsMask(r.emptyNs),
    orphanPtsMaster: true,
    autoDedup: !!r.autoDedup,
    lazyPages: !!r.lazyPages,
  };
}

/** runc's rule: tsoci does not manage network devices, so the network namespace is always created empty. */
export function emptyNsMask(names: string[] = []): number {
  let mask = CLONE_NEWNET;
  for (const n of names) {
    if (n !== 'network') throw new TsociError(`namespace "${n}" is not supported`);
    mask |= CLONE_NEWNET;
  }
  return mask >>> 0;
}

/** runc's --manage-cgroups-mode values (checked before anything is done). */
export function checkCgroupsMode(mode: string | undefined): void {
  if (mode && !['soft', 'full', 'strict', 'ignore'].includes(mode)) throw new TsociError('invalid manage-cgroups-mode value');
}

/** A joined network or PID namespace is dumped as external: "<ns>[<inode>]:extRoot<Ns>NS". */
function externalNamespaces(spec: Spec): string[] {
  const out: string[] = [];
  for (const ns of spec.linux?.namespaces ?? []) {
    const name = CRIU_NS[ns.type];
    if (!ns.path || !EXT_KEY[name]) continue;
    let ino: number;
    try {
      ino = fs.statSync(ns.path).ino;
    } catch (err) {
      throw sysError(`checkpoint: stat ${ns.type} namespace`, ns.path, err);
    }
    out.push(`${name}[${ino}]:${EXT_KEY[name]}`);
  }
  return out;
}

/** CRIU restores cgroups relative to where it runs (the container's, once onSpawned put it there). */
function cgroupRoots(criuPid: number): { ctrl?: string; path: string }[] {
  let text = '';
  try {
    text = fs.readFileSync(`/proc/${criuPid}/cgroup`, 'utf8');
  } catch {
    return [];
  }
  return parseProcCgroup(text).map((e) => ({ ctrl: e.controllers.join(','), path: e.path }));
}

function sendConsole(socket: string | undefined, fd: number): void {
  if (!socket) throw new TsociError('restore: the container has a terminal: --console-socket is required');
  const rc = (native() as unknown as { sendFdToSocket(p: string, fd: number, name: string): number | { error: string } }).sendFdToSocket(path.resolve(socket), fd, '/dev/ptmx');
  if (rc !== 0) throw new TsociError(`restore: ${(rc as { error: string }).error}`);
}

function writeStatus(fd: number): void {
  try {
    fs.writeSync(fd, Buffer.from([0]));
    fs.closeSync(fd);
  } catch {
    /* the reader went away: nothing to tell */
  }
}

function mkdir(dir: string): string {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw sysError('create', dir, err);
  }
  return dir;
}
