import type { LinuxDevice } from '../spec/types';
import type { PlannedDevice, PlannedMount, PlannedSymlink } from './launch-plan';
import { TsociError } from '../util/errors';
import { cleanContainerPath, hasNul } from './paths';

/** Devices every container gets when /dev is mounted (runc's default set). */
export const DEFAULT_DEVICES: readonly PlannedDevice[] = Object.freeze([
  { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
] as PlannedDevice[]);

/** Symlinks made in /dev when /dev is mounted. /dev/ptmx replaces any existing node. */
export const DEFAULT_SYMLINKS: readonly PlannedSymlink[] = Object.freeze([
  { target: '/proc/self/fd', path: '/dev/fd' },
  { target: '/proc/self/fd/0', path: '/dev/stdin' },
  { target: '/proc/self/fd/1', path: '/dev/stdout' },
  { target: '/proc/self/fd/2', path: '/dev/stderr' },
  { target: 'pts/ptmx', path: '/dev/ptmx' },
]);

export const KCORE_SYMLINK: PlannedSymlink = Object.freeze({ target: '/proc/kcore', path: '/dev/core' });

/** True when a spec mount (already planned) has destination /dev. */
export function mountsDev(mounts: readonly PlannedMount[]): boolean {
  return mounts.some((m) => m.destination === '/dev');
}

const S_IFMT = 0o170000;
const MAX_U32 = 0xffffffff;

function checkU32(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_U32) {
    throw new TsociError(`${field}: must be an integer between 0 and ${MAX_U32} (got ${JSON.stringify(v)})`);
  }
  return v;
}

/** One linux.devices entry. fileMode keeps the permission bits only (S_IFMT removed); "u" is a char device. */
export function planSpecDevice(d: LinuxDevice, index: number): PlannedDevice {
  const f = `linux.devices[${index}]`;
  if (typeof d.path !== 'string' || !d.path.startsWith('/')) {
    throw new TsociError(`${f}.path: device path must be absolute (got ${JSON.stringify(d.path)})`);
  }
  if (hasNul(d.path)) throw new TsociError(`${f}.path: contains a null byte`);
  const p = cleanContainerPath(d.path);
  if (p === '/') throw new TsociError(`${f}.path: invalid device path "/"`);
  let type: PlannedDevice['type'];
  switch (d.type) {
    case 'c':
    case 'u':
      type = 'c';
      break;
    case 'b':
    case 'p':
      type = d.type;
      break;
    default:
      throw new TsociError(`${f}.type: invalid device type ${JSON.stringify(d.type)}`);
  }
  let major = 0;
  let minor = 0;
  if (type !== 'p') {
    if (d.major === undefined || d.minor === undefined) {
      throw new TsociError(`${f}: major and minor are required for device type ${JSON.stringify(d.type)}`);
    }
    major = checkU32(d.major, `${f}.major`);
    minor = checkU32(d.minor, `${f}.minor`);
  }
  const fileMode = d.fileMode === undefined ? 0o666 : checkU32(d.fileMode, `${f}.fileMode`) & ~S_IFMT;
  const uid = d.uid === undefined ? 0 : checkU32(d.uid, `${f}.uid`);
  const gid = d.gid === undefined ? 0 : checkU32(d.gid, `${f}.gid`);
  return { path: p, type, major, minor, fileMode, uid, gid };
}

export interface DevicePlanInput {
  specDevices: readonly LinuxDevice[] | undefined;
  /** /dev is a mount of the container: add the default devices */
  devMounted: boolean;
  /** a user namespace is used (created or joined): bind host nodes instead of mknod */
  userNs: boolean;
}

/**
 * Default devices (only when /dev is mounted; a spec device with the same path replaces
 * the default) followed by linux.devices (always). In a user namespace every device gets
 * bindFrom = its own path in the host.
 */
export function planDevices(input: DevicePlanInput): PlannedDevice[] {
  // a path listed twice is made once, from its first entry (runc ignores EEXIST)
  const seen = new Set<string>();
  const spec: PlannedDevice[] = [];
  (input.specDevices ?? []).forEach((sd, i) => {
    const d = planSpecDevice(sd, i);
    if (seen.has(d.path)) return;
    seen.add(d.path);
    spec.push(d);
  });
  const defaults = input.devMounted ? DEFAULT_DEVICES.filter((d) => !seen.has(d.path)).map((d) => ({ ...d })) : [];
  const all = [...defaults, ...spec];
  if (input.userNs) for (const d of all) d.bindFrom = d.path;
  return all;
}

/** /dev symlinks: only when /dev is mounted. */
export function planSymlinks(devMounted: boolean, hostHasKcore: boolean | undefined): PlannedSymlink[] {
  if (!devMounted) return [];
  const links = DEFAULT_SYMLINKS.map((l) => ({ ...l }));
  if (hostHasKcore) links.push({ ...KCORE_SYMLINK });
  return links;
}
