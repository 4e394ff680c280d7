import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * What a container run could leave behind on the host. Each field is a list of stable
 * strings; a leak is an item present after that was not present before. Cheap (no child
 * processes, a few ms): one pass over /proc, one walk of /sys/fs/cgroup, two readdirs.
 */
export interface HostSnapshot {
  /** mount points that look like ours (bundles, rootfs, state, anything under the temp dir) */
  mounts: string[];
  /** tsoci-init processes (argv0 or comm), any state but zombie */
  initProcs: string[];
  /** processes in another mount namespace than the host's: container payloads (and their inits) */
  containerProcs: string[];
  /** zombies, with their parent: something nobody reaped */
  zombies: string[];
  /** warm pool processes (a supervisor, zygote or worker of any pool): none may outlive its pool */
  poolProcs: string[];
  /** every cgroup directory, whatever its name */
  cgroups: string[];
  /** "<cgroup dir> <pid> <comm>" for every process in a non-root cgroup; only those in new cgroups count */
  cgroupProcs: string[];
  /** ids under the state root */
  stateEntries: string[];
  hostRoot: string[];
  /** every file under the state root (exec fifos, locks, half-written state temp files) */
  stateFiles: string[];
  /** temp bundles and output dirs in the temp dir */
  tempDirs: string[];
}

const CGROUP_ROOT = '/sys/fs/cgroup';
const TMP = os.tmpdir();
/** written by the global setup itself, removed by the teardown */
const SNAPSHOT_NAME = 'tsoci-test-host-snapshot.json';

function readOr(file: string, fallback = ''): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

function linkOr(file: string): string {
  try {
    return fs.readlinkSync(file);
  } catch {
    return '';
  }
}

function mountsOfInterest(): string[] {
  return readOr('/proc/self/mountinfo').split('\n')
    .map((l) => l.split(' ')[4])
    .filter((mp) => mp && (/tsoci|bundle|rootfs/.test(mp) || mp.startsWith(TMP + '/')))
    .sort();
}

interface ProcInfo {
  pid: string;
  comm: string;
  state: string;
  ppid: string;
}

/** /proc/<pid>/stat: "pid (comm) S ppid …" — comm may hold spaces and parentheses. */
function procStat(pid: string): ProcInfo | undefined {
  const stat = readOr(`/proc/${pid}/stat`);
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const comm = stat.slice(stat.indexOf('(') + 1, close);
  const [state, ppid] = stat.slice(close + 2).split(' ');
  return { pid, comm, state, ppid };
}

/** The process's cgroup (the v2 line on hybrid hosts): attributes a process to a container. */
function cgroupOf(pid: string): string {
  const lines = readOr(`/proc/${pid}/cgroup`).split('\n').filter(Boolean);
  const line = lines.find((l) => l.startsWith('0::')) ?? lines[0] ?? '';
  return line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
}

function processes(): Pick<HostSnapshot, 'initProcs' | 'containerProcs' | 'zombies' | 'poolProcs'> {
  const poolProcs: string[] = [];
  const initProcs: string[] = [];
  const containerProcs: string[] = [];
  const zombies: string[] = [];
  const hostMnt = linkOr('/proc/1/ns/mnt') || linkOr('/proc/self/ns/mnt');
  const self = String(process.pid);
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || pid === self) continue;
    const p = procStat(pid);
    if (!p) continue;
    if (p.state === 'Z') {
      zombies.push(`${pid} ${p.comm} ppid=${p.ppid} cg=${cgroupOf(pid)}`);
      continue;
    }
    if (readOr(`/proc/${pid}/status`).match(/^Tgid:\s+(\d+)/m)?.[1] !== pid) continue;
    const argv = readOr(`/proc/${pid}/cmdline`).split('\0');
    const argv0 = argv[0];
    // (a forked worker's environ is still the zygote's first one: the role shows)
    const role = /(?:^|\0)TSOCI_WARM_ROLE=(\w+)/.exec(readOr(`/proc/${pid}/environ`))?.[1] ?? (argv.includes('supervise') && argv.includes('warm') ? 'supervisor' : '');
    if (role) poolProcs.push(`${pid} warm ${role} ppid=${p.ppid} ${argv.join(' ').trim()}`);
    if (p.comm === 'tsoci-init' || path.basename(argv0) === 'tsoci-init') {
      initProcs.push(`${pid} ${readOr(`/proc/${pid}/cmdline`).split('\0').join(' ').trim()} cg=${cgroupOf(pid)}`);
      continue;
    }
    // (its root link reads "/" from here once pivoted: the mount namespace is what tells)
    const mnt = linkOr(`/proc/${pid}/ns/mnt`);
    if (mnt && hostMnt && mnt !== hostMnt) containerProcs.push(`${pid} ${p.comm} ${mnt} cg=${cgroupOf(pid)}`);
  }
  return { initProcs, containerProcs, zombies, poolProcs };
}

function cgroupsAndProcs(): Pick<HostSnapshot, 'cgroups' | 'cgroupProcs'> {
  const cgroups: string[] = [];
  const cgroupProcs: string[] = [];
  // pure v2: /sys/fs/cgroup is the root cgroup; hybrid/v1: it holds one root per hierarchy
  const firstChildDepth = fs.existsSync(path.join(CGROUP_ROOT, 'cgroup.procs')) ? 0 : 1;
  const walk = (dir: string, depth: number) => {
    if (depth > 5) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = path.join(dir, e.name);
      cgroups.push(p);
      // below a hierarchy's root (v1: /sys/fs/cgroup/<ctrl>/<…>, v2: /sys/fs/cgroup/unified/<…>)
      if (depth >= firstChildDepth) {
        for (const pid of readOr(path.join(p, 'cgroup.procs')).split('\n')) {
          if (pid) cgroupProcs.push(`${p} ${pid} ${procStat(pid)?.comm ?? '?'}`);
        }
      }
      walk(p, depth + 1);
    }
  };
  walk(CGROUP_ROOT, 0);
  return { cgroups: cgroups.sort(), cgroupProcs: cgroupProcs.sort() };
}

/** tsoci's compiled seccomp filters outlive containers by design; a temp file left in there is still a leak */
const SECCOMP_CACHE = '.seccomp-cache';
const isCachedFilter = (entry: string) => /\/\.seccomp-cache\/$|\/\.seccomp-cache\/[0-9a-f]{16}\.bpf$/.test(entry);

function stateEntries(root: string): string[] {
  try {
    return fs.readdirSync(root).filter((n) => n !== SECCOMP_CACHE).sort();
  } catch {
    return [];
  }
}

function stateFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 3) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      const entry = `${p}${e.isFIFO() ? ' (fifo)' : e.isDirectory() ? '/' : ''}`;
      if (!isCachedFilter(entry)) out.push(entry);
      if (e.isDirectory()) walk(p, depth + 1);
    }
  };
  walk(root, 0);
  return out.sort();
}

function tempDirs(): string[] {
  try {
    return fs.readdirSync(TMP)
      .filter((n) => n !== SNAPSHOT_NAME && (/bundle/.test(n) || /^tsoci-(out|fuzz|fault|cve|conc|sig)-/.test(n)))
      .map((n) => path.join(TMP, n)).sort();
  } catch {
    return [];
  }
}

/**
 * The host's default root (/run/tsoci): clients that pass no --root (podman/conmon) put
 * state and the seccomp filter cache there. Everything counts, the cache included.
 */
export const HOST_DEFAULT_ROOT = '/run/tsoci';
function hostRootEntries(): string[] {
  const out: string[] = [];
  for (const name of safeReaddir(HOST_DEFAULT_ROOT)) {
    const p = path.join(HOST_DEFAULT_ROOT, name);
    out.push(p);
    for (const sub of safeReaddir(p)) out.push(path.join(p, sub));
  }
  return out.sort();
}
function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

export function snapshot(root: string): HostSnapshot {
  return {
    hostRoot: hostRootEntries(),
    mounts: mountsOfInterest(),
    ...processes(),
    ...cgroupsAndProcs(),
    stateEntries: stateEntries(root),
    stateFiles: stateFiles(root),
    tempDirs: tempDirs(),
  };
}

/**
 * Everything in `after` that was not in `before`: the leaks. A warm pool's workers come and go
 * with every served command: only the suite's teardown, after the pool has stopped, counts
 * pool processes (`withPool`).
 */
export function diff(before: HostSnapshot, after: HostSnapshot, withPool = false): string[] {
  const leaks: string[] = [];
  const newCgroups = new Set((after.cgroups ?? []).filter((c) => !new Set(before.cgroups ?? []).has(c)));
  for (const key of Object.keys(after) as (keyof HostSnapshot)[]) {
    if (key === 'poolProcs' && !withPool) continue;
    const was = new Set(before[key] ?? []);
    for (const item of after[key]) {
      if (was.has(item)) continue;
      // a process in a cgroup that existed before is the host's business, not a leak
      if (key === 'cgroupProcs' && !newCgroups.has(item.slice(0, item.indexOf(' ')))) continue;
      leaks.push(`${key}: ${item}`);
    }
  }
  return leaks;
}

export interface SettleOptions {
  timeoutMs?: number;
  /**
   * Only leaks whose text mentions one of these (container ids, bundle paths): what a
   * single test can attribute to itself while other suites may run on the same host.
   * Processes carry their cgroup (cg=…), which holds the container id by default.
   */
  mentioning?: string[];
}

/** diff() repeated until it is empty or the timeout passed: killed processes take a moment to go. */
export function settledDiff(before: HostSnapshot, root: string, opts: SettleOptions = {}): string[] {
  const end = Date.now() + (opts.timeoutMs ?? 2000);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const relevant = (leaks: string[]) => (opts.mentioning ? leaks.filter((l) => opts.mentioning!.some((m) => l.includes(m))) : leaks);
  let leaks = relevant(diff(before, snapshot(root)));
  while (leaks.length > 0 && Date.now() < end) {
    Atomics.wait(sleeper, 0, 0, 20);
    leaks = relevant(diff(before, snapshot(root)));
  }
  return leaks;
}
