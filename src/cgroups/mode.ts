/**
 * Cgroup host detection: which hierarchies are mounted where, and which cgroup this process
 * is in. Read from /proc/self/mountinfo and /proc/self/cgroup (two small reads, once per
 * process) rather than hard-coded paths. Tests pass the texts in instead, pointing the mount
 * points at a temporary directory laid out like cgroupfs.
 *
 * Modes:
 *  - "v2":     a cgroup2 mount at /sys/fs/cgroup, or no v1 controller mounted but a cgroup2 mount
 *  - "hybrid": v1 controllers mounted and a cgroup2 mount too (e.g. /sys/fs/cgroup/unified)
 *  - "v1":     v1 controllers only
 *  - "none":   no cgroup filesystem mounted
 */
import * as fs from 'fs';
import * as path from 'path';

export type CgroupMode = 'v1' | 'hybrid' | 'v2' | 'none';

export interface MountInfoEntry {
  /** root of the mount inside its filesystem (field 4) */
  root: string;
  mountPoint: string;
  fstype: string;
  source: string;
  superOptions: string[];
}

/** One mounted v1 hierarchy. */
export interface V1Hierarchy {
  /** controllers as the kernel names them in the mount options: ["cpu","cpuacct"], ["name=systemd"] */
  controllers: string[];
  mountPoint: string;
  /** root of the mount within the hierarchy ("/" normally) */
  root: string;
  /** this process's cgroup in the hierarchy, from /proc/self/cgroup ("/" if unknown) */
  ownPath: string;
}

export interface UnifiedHierarchy {
  mountPoint: string;
  root: string;
  ownPath: string;
}

export interface CgroupHost {
  mode: CgroupMode;
  /** v1 hierarchies in mountinfo order (one per hierarchy) */
  v1: V1Hierarchy[];
  /** the cgroup2 mount (v2 and hybrid) */
  unified?: UnifiedHierarchy;
  /** whether systemd is PID 1 (/run/systemd/system is a directory); injectable for tests */
  systemdRunning: boolean;
}

/** super options of a "cgroup" mount that are not controllers */
const NON_CONTROLLER_OPTS = new Set(['rw', 'ro', 'noprefix', 'xattr', 'clone_children', 'cpuset_v2_mode', 'favordynmods', 'nofavordynmods', 'none']);

function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses /proc/<pid>/mountinfo text (only what cgroup detection needs). */
export function parseMountinfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(' ');
    const post = line.slice(sep + 3).split(' ');
    if (pre.length < 6 || post.length < 3) continue;
    out.push({
      root: unescapeMountField(pre[3]),
      mountPoint: unescapeMountField(pre[4]),
      fstype: post[0],
      source: unescapeMountField(post[1]),
      superOptions: post[2].split(','),
    });
  }
  return out;
}

/**
 * Parses /proc/<pid>/cgroup: "hierarchy-id:controllers:path" lines. Returns one entry per
 * line; controllers "" is the v2 hierarchy ("0::/path").
 */
export function parseProcCgroup(text: string): { controllers: string[]; path: string }[] {
  const out: { controllers: string[]; path: string }[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a < 0 || b < 0) continue;
    const ctl = line.slice(a + 1, b);
    out.push({ controllers: ctl ? ctl.split(',') : [], path: line.slice(b + 1) || '/' });
  }
  return out;
}

export interface DetectInput {
  /** /proc/self/mountinfo text (default: read it) */
  mountinfo?: string;
  /** /proc/self/cgroup text (default: read it) */
  procSelfCgroup?: string;
  /** default: /run/systemd/system is a directory */
  systemdRunning?: boolean;
}

function isSystemdRunning(): boolean {
  try {
    return fs.lstatSync('/run/systemd/system').isDirectory();
  } catch {
    return false;
  }
}

export function detectCgroupHost(input: DetectInput = {}): CgroupHost {
  const mountinfo = input.mountinfo ?? readText('/proc/self/mountinfo');
  const procCgroup = input.procSelfCgroup ?? readText('/proc/self/cgroup');
  const own = parseProcCgroup(procCgroup);
  const v1: V1Hierarchy[] = [];
  const cgroup2: MountInfoEntry[] = [];
  for (const m of parseMountinfo(mountinfo)) {
    if (m.fstype === 'cgroup2') {
      cgroup2.push(m);
    } else if (m.fstype === 'cgroup') {
      const controllers = m.superOptions.filter((o) => !NON_CONTROLLER_OPTS.has(o) && !o.startsWith('release_agent='));
      if (controllers.length === 0) continue;
      // one entry per hierarchy: the same hierarchy mounted twice keeps the first (a mount of
      // its root "/" wins over a bind of a sub-directory)
      const same = v1.findIndex((h) => h.controllers.join(',') === controllers.join(','));
      if (same >= 0) {
        if (v1[same].root !== '/' && m.root === '/') v1[same] = { ...v1[same], mountPoint: m.mountPoint, root: m.root };
        continue;
      }
      const line = own.find((l) => l.controllers.includes(controllers[0]));
      v1.push({ controllers, mountPoint: m.mountPoint, root: m.root, ownPath: line ? line.path : '/' });
    }
  }
  const realV1 = v1.some((h) => h.controllers.some((c) => !c.startsWith('name=')));
  const u2 =
    cgroup2.find((m) => m.mountPoint === '/sys/fs/cgroup') ??
    cgroup2.find((m) => m.mountPoint === '/sys/fs/cgroup/unified') ??
    cgroup2[0];
  const unifiedOwn = own.find((l) => l.controllers.length === 0);
  const unified = u2 ? { mountPoint: u2.mountPoint, root: u2.root, ownPath: unifiedOwn ? unifiedOwn.path : '/' } : undefined;
  let mode: CgroupMode;
  if (u2 && (u2.mountPoint === '/sys/fs/cgroup' || !realV1)) mode = 'v2';
  else if (realV1) mode = unified ? 'hybrid' : 'v1';
  else mode = 'none';
  return {
    mode,
    v1: mode === 'v2' ? [] : v1,
    unified,
    systemdRunning: input.systemdRunning ?? isSystemdRunning(),
  };
}

function readText(p: string): string {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

let cached: CgroupHost | undefined;
/** The real host, detected once per process. */
export function cgroupHost(): CgroupHost {
  if (!cached) cached = detectCgroupHost();
  return cached;
}

/** The v1 hierarchy that has a controller ("memory", "name=systemd"). */
export function findHierarchy(host: CgroupHost, controller: string): V1Hierarchy | undefined {
  return host.v1.find((h) => h.controllers.includes(controller));
}

/** Host directory of this process's own cgroup in a hierarchy (dind-like cases). */
export function ownCgroupDir(h: { mountPoint: string; root: string; ownPath: string }): string {
  const rel = path.posix.relative(h.root, h.ownPath);
  if (rel.startsWith('..')) return h.mountPoint;
  return path.posix.join(h.mountPoint, rel);
}
