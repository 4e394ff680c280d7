import * as fs from 'fs';
import { cgroupPids } from '../cgroups';
import { openContainer, type StoredState } from '../state/store';
import { checkId } from '../state/paths';
import { TsociError } from '../util/errors';
import { childProcess } from '../util/lazy';
import type { GlobalOptions } from './options';

/** `ps --format json`: the host PIDs of every process in the container's cgroup (or pid namespace), sorted. */
export function containerPids(opts: GlobalOptions & { id: string }): number[] {
  checkId(opts.id);
  return pidsOf(openContainer(opts.root, opts.id).state);
}

/** The container's processes: its cgroup's, or (rootless without a cgroup) its pid namespace's. */
export function pidsOf(state: Pick<StoredState, 'cgroupPaths' | 'pid' | 'ownPidNamespace'>): number[] {
  if (state.cgroupPaths && Object.keys(state.cgroupPaths).length > 0) return cgroupPids(state.cgroupPaths);
  return state.pid ? pidNamespaceMembers(state.pid, !!state.ownPidNamespace) : [];
}

/** Host pids sharing init's pid namespace (only init when the container has none of its own). */
function pidNamespaceMembers(initPid: number, ownNamespace: boolean): number[] {
  let ns: string;
  try {
    ns = fs.readlinkSync(`/proc/${initPid}/ns/pid`);
  } catch {
    return [];
  }
  if (!ownNamespace) return [initPid];
  const pids: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (fs.readlinkSync(`/proc/${e}/ns/pid`) === ns) pids.push(Number(e));
    } catch {
      /* gone, or not ours to look at */
    }
  }
  return pids.sort((a, b) => a - b);
}

/**
 * `ps` (table): the host's ps with the given options (default -ef); keeps the header and
 * the lines whose PID column names a process of the container (runc's behaviour).
 */
export function psTable(opts: GlobalOptions & { id: string; psArgs: string[] }): string {
  const pids = new Set(containerPids(opts));
  const args = opts.psArgs.length > 0 ? opts.psArgs : ['-ef'];
  const r = childProcess().spawnSync('ps', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new TsociError(`exec ps: ${r.error.message}`);
  if (r.status !== 0) throw new TsociError(`ps ${args.join(' ')}: exit status ${r.status ?? r.signal}: ${(r.stdout + r.stderr).trim()}`);
  return filterPsOutput(r.stdout, pids);
}

/** The header line and the lines whose PID field is in `pids`. */
export function filterPsOutput(output: string, pids: Set<number>): string {
  const lines = output.split('\n');
  const pidIndex = lines[0].trim().split(/\s+/).indexOf('PID');
  if (pidIndex < 0) throw new TsociError("couldn't find PID field in ps output");
  const out = [lines[0]];
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const field = line.trim().split(/\s+/)[pidIndex];
    const pid = Number(field);
    if (!/^\d+$/.test(field ?? '')) throw new TsociError(`unable to parse pid: ${JSON.stringify(field)}`);
    if (pids.has(pid)) out.push(line);
  }
  return out.join('\n') + '\n';
}
