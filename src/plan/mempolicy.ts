/**
 * linux.memoryPolicy (runtime-spec 1.3) → LaunchPlan.memoryPolicy: set_mempolicy(2) numbers,
 * checked here so a bad policy fails before anything is created. tsoci-init applies it
 * just before execve (cpp/init/mempolicy.cc); the policy is inherited across execve.
 */
import type { LinuxMemoryPolicy } from '../spec/types';
import type { LaunchPlan } from './launch-plan';
import { TsociError } from '../util/errors';

// include/uapi/linux/mempolicy.h
export const MPOL_MODES: Readonly<Record<string, number>> = Object.freeze({
  MPOL_DEFAULT: 0,
  MPOL_PREFERRED: 1,
  MPOL_BIND: 2,
  MPOL_INTERLEAVE: 3,
  MPOL_LOCAL: 4,
  MPOL_PREFERRED_MANY: 5,
  MPOL_WEIGHTED_INTERLEAVE: 6,
});
export const MPOL_FLAGS: Readonly<Record<string, number>> = Object.freeze({
  MPOL_F_NUMA_BALANCING: 1 << 13,
  MPOL_F_RELATIVE_NODES: 1 << 14,
  MPOL_F_STATIC_NODES: 1 << 15,
});

/** Modes that take no nodes, and modes that need at least one (set_mempolicy(2)). */
const NO_NODES = new Set(['MPOL_DEFAULT', 'MPOL_LOCAL']);
const NEED_NODES = new Set(['MPOL_BIND', 'MPOL_INTERLEAVE', 'MPOL_WEIGHTED_INTERLEAVE', 'MPOL_PREFERRED_MANY']);

/** "0-3,7" → canonical text; throws on anything else. */
export function parseNodeList(nodes: string, field: string): string {
  if (nodes.trim() === '') return '';
  const parts = nodes.split(',').map((p) => p.trim());
  for (const p of parts) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(p);
    if (!m) throw new TsociError(`${field}: invalid node list ${JSON.stringify(nodes)} (want e.g. "0-3,7")`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi >= 4096) throw new TsociError(`${field}: invalid node range ${JSON.stringify(p)}`);
  }
  return parts.join(',');
}

/** How many nodes a canonical node list names ("0-7" → 8). */
function nodeCount(nodes: string): number {
  let n = 0;
  for (const p of nodes ? nodes.split(',') : []) {
    const [lo, hi = lo] = p.split('-').map(Number);
    n += hi - lo + 1;
  }
  return n;
}

/**
 * The policy's first problem, in runc's words ("invalid memory policy mode ..."): runc has
 * no schema, and clients and runc's tests read these. parseSpec asks before the schema
 * check, whose generic enum/required messages would otherwise come first.
 */
export function memoryPolicyProblem(mp: unknown): string | undefined {
  if (mp === undefined || mp === null || typeof mp !== 'object') return undefined;
  const { mode, nodes, flags } = mp as { mode?: unknown; nodes?: unknown; flags?: unknown };
  if (typeof mode !== 'string' || MPOL_MODES[mode] === undefined) return `invalid memory policy mode ${JSON.stringify(mode ?? '')}`;
  let list = '';
  try {
    list = parseNodeList(typeof nodes === 'string' ? nodes : '', 'nodes');
  } catch (err) {
    return `invalid memory policy nodes ${JSON.stringify(nodes)}: ${(err as Error).message.replace(/^nodes: /, '')}`;
  }
  for (const flag of Array.isArray(flags) ? flags : []) {
    if (typeof flag !== 'string' || MPOL_FLAGS[flag] === undefined) return `invalid memory policy flag ${JSON.stringify(flag)}`;
  }
  const count = nodeCount(list);
  if (NO_NODES.has(mode) && count !== 0) return `memory policy mode requires 0 nodes but got ${count}`;
  if (NEED_NODES.has(mode) && count === 0) return 'memory policy mode requires at least one node but got 0';
  return undefined;
}

export function planMemoryPolicy(mp: LinuxMemoryPolicy | undefined): LaunchPlan['memoryPolicy'] {
  if (!mp) return undefined;
  const problem = memoryPolicyProblem(mp);
  if (problem) throw new TsociError(problem);
  const f = 'linux.memoryPolicy';
  let flags = 0;
  for (const name of mp.flags ?? []) flags |= MPOL_FLAGS[name];
  if ((flags & MPOL_FLAGS.MPOL_F_STATIC_NODES) && (flags & MPOL_FLAGS.MPOL_F_RELATIVE_NODES)) {
    throw new TsociError(`${f}.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other`);
  }
  return { mode: MPOL_MODES[mp.mode], nodes: parseNodeList(mp.nodes ?? '', `${f}.nodes`), flags };
}
