/**
 * mount(2) flag values and the tables that turn OCI mount options into them.
 * Values are the Linux ones (include/uapi/linux/mount.h), identical on every architecture.
 */
import { TsociError } from '../util/errors';

export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_SYNCHRONOUS = 0x10;
export const MS_REMOUNT = 0x20;
export const MS_MANDLOCK = 0x40;
export const MS_DIRSYNC = 0x80;
export const MS_NOSYMFOLLOW = 0x100;
export const MS_NOATIME = 0x400;
export const MS_NODIRATIME = 0x800;
export const MS_BIND = 0x1000;
export const MS_MOVE = 0x2000;
export const MS_REC = 0x4000;
export const MS_SILENT = 0x8000;
export const MS_POSIXACL = 1 << 16;
export const MS_UNBINDABLE = 1 << 17;
export const MS_PRIVATE = 1 << 18;
export const MS_SLAVE = 1 << 19;
export const MS_SHARED = 1 << 20;
export const MS_RELATIME = 1 << 21;
export const MS_I_VERSION = 1 << 23;
export const MS_STRICTATIME = 1 << 24;
export const MS_LAZYTIME = 1 << 25;

/** An option that sets (clear: false) or clears (clear: true) one or more MS_* flags. */
export interface FlagOption {
  clear: boolean;
  flag: number;
}

/** Plain mount options (like mount(8)). Anything not listed here or below is fs data. */
export const MOUNT_FLAG_OPTIONS: Readonly<Record<string, FlagOption>> = Object.freeze({
  ro: { clear: false, flag: MS_RDONLY },
  rw: { clear: true, flag: MS_RDONLY },
  nosuid: { clear: false, flag: MS_NOSUID },
  suid: { clear: true, flag: MS_NOSUID },
  nodev: { clear: false, flag: MS_NODEV },
  dev: { clear: true, flag: MS_NODEV },
  noexec: { clear: false, flag: MS_NOEXEC },
  exec: { clear: true, flag: MS_NOEXEC },
  sync: { clear: false, flag: MS_SYNCHRONOUS },
  async: { clear: true, flag: MS_SYNCHRONOUS },
  dirsync: { clear: false, flag: MS_DIRSYNC },
  remount: { clear: false, flag: MS_REMOUNT },
  mand: { clear: false, flag: MS_MANDLOCK },
  nomand: { clear: true, flag: MS_MANDLOCK },
  noatime: { clear: false, flag: MS_NOATIME },
  atime: { clear: true, flag: MS_NOATIME },
  nodiratime: { clear: false, flag: MS_NODIRATIME },
  diratime: { clear: true, flag: MS_NODIRATIME },
  relatime: { clear: false, flag: MS_RELATIME },
  norelatime: { clear: true, flag: MS_RELATIME },
  strictatime: { clear: false, flag: MS_STRICTATIME },
  nostrictatime: { clear: true, flag: MS_STRICTATIME },
  iversion: { clear: false, flag: MS_I_VERSION },
  noiversion: { clear: true, flag: MS_I_VERSION },
  lazytime: { clear: false, flag: MS_LAZYTIME },
  nolazytime: { clear: true, flag: MS_LAZYTIME },
  silent: { clear: false, flag: MS_SILENT },
  loud: { clear: true, flag: MS_SILENT },
  nosymfollow: { clear: false, flag: MS_NOSYMFOLLOW },
  symfollow: { clear: true, flag: MS_NOSYMFOLLOW },
  bind: { clear: false, flag: MS_BIND },
  rbind: { clear: false, flag: MS_BIND | MS_REC },
  defaults: { clear: false, flag: 0 },
  // "acl" is deliberately absent (MS_POSIXACL is not a per-mount flag): it goes to data.
});

/**
 * Recursive attribute options (runtime-spec 1.1: applied with mount_setattr(2) and
 * AT_RECURSIVE). They also set the equivalent MS_* flag: exact for a fresh (non-bind) mount,
 * which has no submounts, and the top mount of a bind; mount-ext.ts turns them into
 * PlannedMount.recursiveAttrs for the submounts of a bind.
 */
export const RECURSIVE_FLAG_OPTIONS: Readonly<Record<string, FlagOption>> = Object.freeze({
  rro: { clear: false, flag: MS_RDONLY },
  rrw: { clear: true, flag: MS_RDONLY },
  rnosuid: { clear: false, flag: MS_NOSUID },
  rsuid: { clear: true, flag: MS_NOSUID },
  rnodev: { clear: false, flag: MS_NODEV },
  rdev: { clear: true, flag: MS_NODEV },
  rnoexec: { clear: false, flag: MS_NOEXEC },
  rexec: { clear: true, flag: MS_NOEXEC },
  rnodiratime: { clear: false, flag: MS_NODIRATIME },
  rdiratime: { clear: true, flag: MS_NODIRATIME },
  rrelatime: { clear: false, flag: MS_RELATIME },
  rnorelatime: { clear: true, flag: MS_RELATIME },
  rnoatime: { clear: false, flag: MS_NOATIME },
  ratime: { clear: true, flag: MS_NOATIME },
  rstrictatime: { clear: false, flag: MS_STRICTATIME },
  rnostrictatime: { clear: true, flag: MS_STRICTATIME },
  rnosymfollow: { clear: false, flag: MS_NOSYMFOLLOW },
  rsymfollow: { clear: true, flag: MS_NOSYMFOLLOW },
});

/** Propagation options: each becomes one separate mount(2) call. */
export const PROPAGATION_OPTIONS: Readonly<Record<string, number>> = Object.freeze({
  private: MS_PRIVATE,
  rprivate: MS_PRIVATE | MS_REC,
  shared: MS_SHARED,
  rshared: MS_SHARED | MS_REC,
  slave: MS_SLAVE,
  rslave: MS_SLAVE | MS_REC,
  unbindable: MS_UNBINDABLE,
  runbindable: MS_UNBINDABLE | MS_REC,
});

export interface ParsedMountOptions {
  /** MS_* flags set (after applying clearing options in order) */
  flags: number;
  /** MS_* flags explicitly cleared (rw, suid, dev, …) */
  clearedFlags: number;
  /** the part of `flags`/`clearedFlags` that came from recursive (r*) options */
  recursiveSet: number;
  recursiveClear: number;
  /** one entry per propagation option, in order */
  propagation: number[];
  /** options that are fs data, in order */
  data: string[];
  /** "idmap" (false) or "ridmap" (true) was given; undefined when neither */
  idmapRecursive?: boolean;
  /** "tmpcopyup" was given */
  tmpcopyup: boolean;
}

function apply(acc: { set: number; clr: number }, o: FlagOption): void {
  if (o.clear) {
    acc.set &= ~o.flag;
    acc.clr |= o.flag;
  } else {
    acc.set |= o.flag;
    acc.clr &= ~o.flag;
  }
}

/**
 * Split OCI mount options into MS_* flags, propagation calls and fs data, like runc:
 * later options override earlier ones; options that are not flags are data.
 */
export function parseMountOptions(options: readonly string[] | undefined, field = 'options'): ParsedMountOptions {
  const plain = { set: 0, clr: 0 };
  const rec = { set: 0, clr: 0 };
  const out: ParsedMountOptions = {
    flags: 0,
    clearedFlags: 0,
    recursiveSet: 0,
    recursiveClear: 0,
    propagation: [],
    data: [],
    tmpcopyup: false,
  };
  (options ?? []).forEach((o, i) => {
    if (typeof o !== 'string') throw new TsociError(`${field}[${i}]: mount option must be a string`);
    if (o.includes('\0')) throw new TsociError(`${field}[${i}]: mount option contains a null byte`);
    const own = Object.prototype.hasOwnProperty;
    if (own.call(MOUNT_FLAG_OPTIONS, o)) {
      apply(plain, MOUNT_FLAG_OPTIONS[o]);
      // a plain option after a recursive one for the same flag wins
      rec.set &= ~MOUNT_FLAG_OPTIONS[o].flag;
      rec.clr &= ~MOUNT_FLAG_OPTIONS[o].flag;
    } else if (own.call(RECURSIVE_FLAG_OPTIONS, o)) {
      apply(rec, RECURSIVE_FLAG_OPTIONS[o]);
      apply(plain, RECURSIVE_FLAG_OPTIONS[o]);
    } else if (own.call(PROPAGATION_OPTIONS, o)) {
      out.propagation.push(PROPAGATION_OPTIONS[o]);
    } else if (o === 'idmap' || o === 'ridmap') {
      // id-mapped mount: planned by mount-ext.ts (PlannedMount.idmap)
      out.idmapRecursive = o === 'ridmap';
    } else if (o === 'tmpcopyup') {
      // runc extension: copy the directory's content into the new tmpfs (tmpcopyup.cc)
      out.tmpcopyup = true;
    } else if (o !== '') {
      out.data.push(o);
    }
  });
  out.flags = plain.set;
  out.clearedFlags = plain.clr;
  out.recursiveSet = rec.set;
  out.recursiveClear = rec.clr;
  return out;
}

/** Parse a linux.rootfsPropagation value (plain or r- form); undefined if unknown. */
export function propagationFlag(name: string): number | undefined {
  return Object.prototype.hasOwnProperty.call(PROPAGATION_OPTIONS, name) ? PROPAGATION_OPTIONS[name] : undefined;
}
