import * as path from 'path';
import type { CgroupPaths } from '../cgroups';
import { TsociError } from '../util/errors';

/**
 * `exec --cgroup`, runc's rules (exec.go getSubCgroupPaths, process_linux.go
 * addIntoCgroupV1): each value is "<path>" (one value only: the same sub-cgroup of every
 * hierarchy) or "<controller>[,<controller>…]:<path>" (those controllers' sub-cgroups,
 * the others stay the container's). The sub-cgroup must exist and stay inside the
 * container's cgroup.
 */
export function parseSubCgroups(args: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of args) {
    const colon = a.indexOf(':');
    if (colon < 0) {
      if (args.length !== 1) throw new TsociError(`invalid --cgroup argument: ${a} (missing <controller>: prefix)`);
      out[''] = a;
      continue;
    }
    for (const ctrl of a.slice(0, colon).split(',')) {
      if (ctrl === '') throw new TsociError(`invalid --cgroup argument: ${a} (empty <controller> prefix)`);
      if (ctrl in out) throw new TsociError(`invalid --cgroup argument(s): controller ${ctrl} specified multiple times`);
      out[ctrl] = a.slice(colon + 1);
    }
  }
  return out;
}

/** The directories an exec'd process joins: the container's, with the sub-cgroups applied. */
export function execCgroupDirs(base: CgroupPaths, sub: Record<string, string>): CgroupPaths {
  const dirs: CgroupPaths = { ...base };
  const within = (dir: string, s: string) => {
    const joined = path.posix.join(dir, s).replace(/(.)\/+$/, '$1');
    if (joined !== dir && !joined.startsWith(dir + '/')) throw new TsociError(`bad sub cgroup path: ${s}`);
    return joined;
  };
  if ('' in sub && Object.keys(sub).length === 1) {
    for (const k of Object.keys(dirs)) dirs[k] = within(dirs[k], sub['']);
    return dirs;
  }
  for (const [ctrl, s] of Object.entries(sub)) {
    if (!(ctrl in base) || ctrl === '') throw new TsociError(`unknown controller ${ctrl} in --cgroup`);
    dirs[ctrl] = within(base[ctrl], s);
  }
  return dirs;
}
