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

export function planMemoryPolicy(mp: LinuxMemoryPolicy | undefined): LaunchPlan['memoryPolicy'] {
  if (!mp) return undefined;
  const f = 'linux.memoryPolicy';
  const mode = MPOL_MODES[mp.mode];
  if (mode === undefined) throw new TsociError(`${f}.mode: unknown mode ${JSON.stringify(mp.mode)}`);
  const nodes = parseNodeList(mp.nodes ?? '', `${f}.nodes`);
  if (NO_NODES.has(mp.mode) && nodes !== '') throw new TsociError(`${f}.nodes: ${mp.mode} takes no nodes (got ${JSON.stringify(mp.nodes)})`);
  if (NEED_NODES.has(mp.mode) && nodes === '') throw new TsociError(`${f}.nodes: ${mp.mode} needs at least one node`);
  let flags = 0;
  for (const [i, name] of (mp.flags ?? []).entries()) {
    const bit = MPOL_FLAGS[name];
    if (bit === undefined) throw new TsociError(`${f}.flags[${i}]: unknown flag ${JSON.stringify(name)}`);
    flags |= bit;
  }
  if ((flags & MPOL_FLAGS.MPOL_F_STATIC_NODES) && (flags & MPOL_FLAGS.MPOL_F_RELATIVE_NODES)) {
    throw new TsociError(`${f}.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other`);
  }
  return { mode, nodes, flags };
}
