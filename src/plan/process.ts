import * as path from 'path';
import type { Process } from '../spec/types';
import type { PlannedProcess } from './launch-plan';
import { TsociError } from '../util/errors';
import { resolveCapabilities } from './capabilities';
import { resolveRlimits } from './rlimits';

const MAX_U32 = 0xffffffff;

function checkId(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_U32) {
    throw new TsociError(`${field}: must be an integer between 0 and ${MAX_U32} (got ${JSON.stringify(v)})`);
  }
  return v;
}

export interface ProcessPlanOptions {
  /** field prefix in error messages ("process") */
  field?: string;
  /** an empty or absent cwd becomes "/" instead of an error (runc exec) */
  defaultCwd?: boolean;
}

/** Resolve the container process: everything numeric, every name looked up. */
export function planProcess(p: Process | undefined, o: ProcessPlanOptions = {}): PlannedProcess {
  const field = o.field ?? 'process';
  if (p === undefined || p === null) throw new TsociError(`${field}: must be set`);

  const args = p.args ?? [];
  if (!Array.isArray(args) || args.length === 0) throw new TsociError(`${field}.args must not be empty`);
  args.forEach((a, i) => {
    if (typeof a !== 'string') throw new TsociError(`${field}.args[${i}]: must be a string`);
    if (a.includes('\0')) throw new TsociError(`${field}.args[${i}]: contains a null byte`);
  });
  if (args[0] === '') throw new TsociError(`${field}.args[0]: must not be empty`);

  const env = p.env ?? [];
  env.forEach((e, i) => {
    const eq = typeof e === 'string' ? e.indexOf('=') : -1;
    if (eq < 0) throw new TsociError(`${field}.env[${i}]: invalid environment variable ${JSON.stringify(e)}: missing '='`);
    if (eq === 0) throw new TsociError(`${field}.env[${i}]: invalid environment variable ${JSON.stringify(e)}: name cannot be empty`);
    if (e.includes('\0')) throw new TsociError(`${field}.env[${i}]: contains a null byte`);
  });

  let cwd = p.cwd;
  if ((cwd === undefined || cwd === '') && o.defaultCwd) cwd = '/';
  if (typeof cwd !== 'string' || cwd === '') throw new TsociError(`${field}.cwd: cwd property must not be empty`);
  if (!path.posix.isAbsolute(cwd)) {
    throw new TsociError(`${field}.cwd: cwd property must be an absolute path (got ${JSON.stringify(cwd)})`);
  }
  if (cwd.includes('\0')) throw new TsociError(`${field}.cwd: contains a null byte`);

  const user = p.user ?? { uid: 0, gid: 0 };
  const uid = checkId(user.uid ?? 0, `${field}.user.uid`);
  const gid = checkId(user.gid ?? 0, `${field}.user.gid`);
  const additionalGids = (user.additionalGids ?? []).map((g, i) => checkId(g, `${field}.user.additionalGids[${i}]`));
  let umask = -1;
  if (user.umask !== undefined && user.umask !== null) {
    if (!Number.isInteger(user.umask) || user.umask < 0 || user.umask > 0o777) {
      throw new TsociError(`${field}.user.umask: must be an integer between 0 and 0777 (got ${JSON.stringify(user.umask)})`);
    }
    umask = user.umask;
  }

  const out: PlannedProcess = {
    args: [...args],
    env: dedupEnv(env),
    cwd,
    uid,
    gid,
    additionalGids,
    umask,
    terminal: p.terminal === true,
    noNewPrivileges: p.noNewPrivileges === true,
    rlimits: resolveRlimits(p.rlimits, `${field}.rlimits`),
  };
  if (p.consoleSize) {
    out.consoleSize = { height: checkId(p.consoleSize.height, `${field}.consoleSize.height`), width: checkId(p.consoleSize.width, `${field}.consoleSize.width`) };
  }
  const caps = resolveCapabilities(p.capabilities);
  if (caps) out.capabilities = caps;
  if (p.oomScoreAdj !== undefined && p.oomScoreAdj !== null) {
    if (!Number.isInteger(p.oomScoreAdj) || p.oomScoreAdj < -1000 || p.oomScoreAdj > 1000) {
      throw new TsociError(`${field}.oomScoreAdj: must be an integer between -1000 and 1000 (got ${JSON.stringify(p.oomScoreAdj)})`);
    }
    out.oomScoreAdj = p.oomScoreAdj;
  }
  return out;
}

/**
 * runc's prepareEnv: for a key set more than once the last value wins (at the place of its
 * last occurrence), and an empty HOME is dropped, so the init sets HOME from the
 * container's /etc/passwd as it does for an absent one.
 */
export function dedupEnv(env: string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (let i = env.length - 1; i >= 0; i--) {
    const key = env[i].slice(0, env[i].indexOf('='));
    if (seen.has(key)) continue;
    seen.add(key);
    if (env[i] !== 'HOME=') out.push(env[i]);
  }
  return out.reverse();
}
