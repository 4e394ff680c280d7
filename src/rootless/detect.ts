/**
 * Rootless detection, runc's rules (main.go, rootless_linux.go):
 *  - `--rootless true|false` is taken as given; `auto` (the default, also when the flag is
 *    absent) means rootless when euid != 0, or when euid is 0 inside a user namespace whose
 *    root is not the host's root (rootless podman runs the runtime there).
 *  - the default state root is `$XDG_RUNTIME_DIR/tsoci` when XDG_RUNTIME_DIR is set and
 *    honoured (euid != 0; or euid 0 in such a user namespace unless USER=root), else
 *    /run/tsoci. Rootful conmon sets XDG_RUNTIME_DIR="" and calls `state` with no flags:
 *    that stays /run/tsoci.
 * Only /proc/self/uid_map is read, once per process.
 */
import * as fs from 'fs';
import { TsociError } from '../util/errors';

export type RootlessMode = 'auto' | 'true' | 'false';

/** runc's parseBoolOrAuto: "" and "auto" are auto; Go's ParseBool spellings for the rest. */
export function parseRootlessFlag(value: unknown): RootlessMode {
  if (value === undefined || value === null || value === '' || value === 'auto') return 'auto';
  if (value === true) return 'true';
  if (value === false) return 'false';
  const v = String(value);
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return 'true';
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return 'false';
  throw new TsociError(`invalid --rootless value ${JSON.stringify(v)}: want true, false or auto`);
}

export interface IdentityFacts {
  euid: number;
  /** the lines of /proc/self/uid_map, undefined when unreadable */
  uidMap: string | undefined;
}

/**
 * Whether uid 0 here is the host's root: the initial user namespace maps 0..2^32-1 onto
 * itself; a user namespace that maps our 0 onto its parent's 0 is treated as the host's
 * root too (a privileged, not a rootless, nesting).
 */
export function isHostRoot(f: IdentityFacts): boolean {
  if (f.euid !== 0) return false;
  if (f.uidMap === undefined) return true; // no procfs: assume the initial namespace, as runc does
  const lines = f.uidMap.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
  if (lines.length === 1 && lines[0][0] === 0 && lines[0][1] === 0 && lines[0][2] === 4294967295) return true;
  return lines.some(([inside, outside, size]) => inside === 0 && outside === 0 && size >= 1);
}

/** Whether we are in a user namespace other than the initial one (moby/sys userns' test). */
export function inUserNamespace(f: IdentityFacts): boolean {
  if (f.uidMap === undefined) return false;
  const lines = f.uidMap.trim().split('\n');
  return !(lines.length === 1 && /^0\s+0\s+4294967295$/.test(lines[0].trim()));
}

export function resolveRootless(mode: RootlessMode, f: IdentityFacts = identity()): boolean {
  if (mode === 'true') return true;
  if (mode === 'false') return false;
  return !isHostRoot(f);
}

/** runc's shouldHonorXDGRuntimeDir. */
export function honoursXdgRuntimeDir(f: IdentityFacts, env: NodeJS.ProcessEnv): boolean {
  if (f.euid !== 0) return true;
  if (!inUserNamespace(f) || isHostRoot(f)) return false;
  return env.USER !== 'root';
}

export interface DefaultRoot {
  root: string;
  /** the root is $XDG_RUNTIME_DIR/tsoci (made on first use, 0700) */
  xdg: boolean;
}

export function defaultRootFor(f: IdentityFacts, env: NodeJS.ProcessEnv): DefaultRoot {
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg && honoursXdgRuntimeDir(f, env)) return { root: `${xdg.replace(/\/+$/, '')}/tsoci`, xdg: true };
  return { root: '/run/tsoci', xdg: false };
}

let cached: IdentityFacts | undefined;
export function identity(): IdentityFacts {
  if (!cached) {
    let uidMap: string | undefined;
    try {
      uidMap = fs.readFileSync('/proc/self/uid_map', 'utf8');
    } catch {
      uidMap = undefined;
    }
    cached = { euid: process.geteuid?.() ?? 0, uidMap };
  }
  return cached;
}

/**
 * What `features` reports about rootless (annotations: runtime-spec's Features has no field
 * for it): --rootless auto|true|false, the XDG default root, cgroups v1/v2 without delegation
 * when no limit is asked, a delegated cgroup v2 subtree with limits, and id maps beyond the
 * caller's own id through newuidmap/newgidmap.
 */
export const ROOTLESS_FEATURES: Record<string, string> = {
  'dev.tsoci.rootless': 'auto,true,false',
  'dev.tsoci.rootless.root': '$XDG_RUNTIME_DIR/tsoci',
  'dev.tsoci.rootless.cgroups': 'v1-no-limits,v2-no-limits,v2-delegated',
  'dev.tsoci.rootless.idmapHelpers': 'newuidmap,newgidmap',
};
