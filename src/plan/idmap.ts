import type { LinuxIDMapping } from '../spec/types';
import type { IdMapping } from './launch-plan';
import { TsociError } from '../util/errors';

const MAX_ID = 0xffffffff;

/** Copy and check a list of id mappings (non-negative integers, size ≥ 1, within 32 bits). */
export function copyIdMappings(maps: readonly LinuxIDMapping[] | undefined, field: string): IdMapping[] {
  return (maps ?? []).map((m, i) => {
    const f = `${field}[${i}]`;
    for (const k of ['containerID', 'hostID', 'size'] as const) {
      const v = m[k];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_ID) {
        throw new TsociError(`${f}.${k}: must be an integer between 0 and ${MAX_ID} (got ${JSON.stringify(v)})`);
      }
    }
    if (m.size < 1) throw new TsociError(`${f}.size: must be at least 1`);
    if (m.containerID + m.size - 1 > MAX_ID || m.hostID + m.size - 1 > MAX_ID) {
      throw new TsociError(`${f}: mapping exceeds the 32-bit id range`);
    }
    return { containerID: m.containerID, hostID: m.hostID, size: m.size };
  });
}

/**
 * Whether "deny" must be written to /proc/<pid>/setgroups before gid_map.
 * An unprivileged writer can only map its own gid (one mapping of size 1), and the kernel
 * then requires setgroups to be denied; newgidmap (used for anything larger) does not.
 * Root in the host never needs it.
 */
export function needsSetgroupsDeny(rootless: boolean | undefined, gidMappings: readonly IdMapping[]): boolean {
  return !!rootless && gidMappings.length === 1 && gidMappings[0].size === 1;
}
