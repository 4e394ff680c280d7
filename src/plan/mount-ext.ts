/**
 * Mount extensions of runtime-spec 1.1/1.2: recursive attributes (rro, rnosuid, …, applied
 * with mount_setattr(AT_RECURSIVE)) and id-mapped mounts (mounts[].uidMappings/gidMappings,
 * the idmap/ridmap options; MOUNT_ATTR_IDMAP). tsoci-init carries them out in
 * cpp/init/mount_ext.cc.
 */
import type { Mount, Spec } from '../spec/types';
import type { IdMapping, PlannedMount } from './launch-plan';
import { TsociError } from '../util/errors';
import { copyIdMappings } from './idmap';
import {
  MS_BIND, MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID, MS_NOSYMFOLLOW, MS_RDONLY, MS_RELATIME, MS_STRICTATIME,
  parseMountOptions, type ParsedMountOptions,
} from './mount-options';

// include/uapi/linux/mount.h
export const MOUNT_ATTR_RDONLY = 0x1;
export const MOUNT_ATTR_NOSUID = 0x2;
export const MOUNT_ATTR_NODEV = 0x4;
export const MOUNT_ATTR_NOEXEC = 0x8;
/** the atime modes are an enum in these bits, not flags */
export const MOUNT_ATTR__ATIME = 0x70;
export const MOUNT_ATTR_RELATIME = 0x0;
export const MOUNT_ATTR_NOATIME = 0x10;
export const MOUNT_ATTR_STRICTATIME = 0x20;
export const MOUNT_ATTR_NODIRATIME = 0x80;
export const MOUNT_ATTR_IDMAP = 0x100000;
export const MOUNT_ATTR_NOSYMFOLLOW = 0x200000;

const FLAG_ATTRS: readonly [number, number][] = [
  [MS_RDONLY, MOUNT_ATTR_RDONLY],
  [MS_NOSUID, MOUNT_ATTR_NOSUID],
  [MS_NODEV, MOUNT_ATTR_NODEV],
  [MS_NOEXEC, MOUNT_ATTR_NOEXEC],
  [MS_NODIRATIME, MOUNT_ATTR_NODIRATIME],
  [MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW],
];

/**
 * The r* options as mount_setattr attributes, or undefined when there are none. An atime
 * mode is set by clearing MOUNT_ATTR__ATIME and setting the mode; clearing one (ratime,
 * rnorelatime, rnostrictatime) goes back to the default, relatime: rnorelatime too, as in
 * runc (mounts_recursive.bats), unlike mount(8)'s norelatime.
 */
export function recursiveAttrs(o: Pick<ParsedMountOptions, 'recursiveSet' | 'recursiveClear'>): { set: number; clear: number } | undefined {
  let set = 0;
  let clear = 0;
  for (const [ms, attr] of FLAG_ATTRS) {
    if (o.recursiveSet & ms) set |= attr;
    else if (o.recursiveClear & ms) clear |= attr;
  }
  const atimeSet = o.recursiveSet & (MS_NOATIME | MS_STRICTATIME | MS_RELATIME);
  const atimeClear = o.recursiveClear & (MS_NOATIME | MS_STRICTATIME | MS_RELATIME);
  if (atimeSet || atimeClear) {
    // MOUNT_ATTR_RELATIME is 0: clearing the field is setting relatime
    clear |= MOUNT_ATTR__ATIME;
    if (atimeSet & MS_NOATIME) set |= MOUNT_ATTR_NOATIME;
    else if (atimeSet & MS_STRICTATIME) set |= MOUNT_ATTR_STRICTATIME;
    else if (atimeSet & MS_RELATIME) set |= MOUNT_ATTR_RELATIME;
  }
  return set || clear ? { set, clear } : undefined;
}

export interface ContainerIdMaps {
  /** the container creates a user namespace with these maps */
  userNs: boolean;
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
  /** the user namespace the container joins (linux.namespaces path), if any */
  joinedUserNs?: string;
}

/**
 * The id mapping of one mount: its own uidMappings/gidMappings, or with only idmap/ridmap
 * the container's user namespace maps (runtime-spec: "the runtime MAY use the container's
 * user namespace mapping, otherwise an error MUST be returned"). Only bind mounts can be
 * id-mapped here (like runc): the mount is cloned with open_tree.
 */
export function planIdmap(m: Mount, o: ParsedMountOptions, isBind: boolean, container: ContainerIdMaps, field: string): PlannedMount['idmap'] {
  const hasMaps = (m.uidMappings?.length ?? 0) > 0 || (m.gidMappings?.length ?? 0) > 0;
  if (!hasMaps && o.idmapRecursive === undefined) return undefined;
  if (!isBind) throw new TsociError(`${field}: id-mapped mounts are only supported for bind mounts (type ${JSON.stringify(m.type ?? '')})`);
  let uidMappings: IdMapping[];
  let gidMappings: IdMapping[];
  if (hasMaps) {
    uidMappings = copyIdMappings(m.uidMappings, `${field}.uidMappings`);
    gidMappings = copyIdMappings(m.gidMappings, `${field}.gidMappings`);
    if (uidMappings.length === 0 || gidMappings.length === 0) {
      throw new TsociError(`${field}: uidMappings and gidMappings must be specified together`);
    }
  } else if (container.joinedUserNs) {
    // runc: the joined namespace's own mappings; that namespace itself is the id mapping
    return { uidMappings: [], gidMappings: [], recursive: o.idmapRecursive === true, userns: container.joinedUserNs };
  } else {
    if (!container.userNs || container.uidMappings.length === 0 || container.gidMappings.length === 0) {
      throw new TsociError(`${field}: idmap without uidMappings/gidMappings needs the container's user namespace mappings, and the container has none`);
    }
    uidMappings = container.uidMappings.map((x) => ({ ...x }));
    gidMappings = container.gidMappings.map((x) => ({ ...x }));
  }
  return { uidMappings, gidMappings, recursive: o.idmapRecursive === true };
}

/**
 * Fills PlannedMount.recursiveAttrs and .idmap of the planned mounts (index i is spec.mounts[i]).
 * Recursive attributes matter for bind mounts only: a new file system has no submounts
 * when it is mounted, and its r* options are already plain flags.
 */
export function addMountExtensions(planned: PlannedMount[], spec: Spec, container: ContainerIdMaps): void {
  (spec.mounts ?? []).forEach((m, i) => {
    const p = planned[i];
    if (!p) return;
    const field = `mounts[${i}]`;
    const o = parseMountOptions(m.options, `${field}.options`);
    // (a sysfs mount replaced by a bind of /sys is not a spec bind)
    const isBind = m.type === 'bind' || (o.flags & MS_BIND) !== 0;
    if (isBind) {
      const attrs = recursiveAttrs(o);
      if (attrs) p.recursiveAttrs = attrs;
    }
    const idmap = planIdmap(m, o, isBind, container, field);
    if (idmap) p.idmap = idmap;
  });
}
