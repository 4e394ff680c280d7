/**
 * runc's rootlessEUIDCheck (libcontainer/configs/validate/rootless.go): a container created
 * by a non-root effective uid needs a user namespace, with uid and gid mappings when it
 * makes its own, and a mount's uid=/gid= option must name a mapped id. Without this the
 * kernel refuses later with a bare "unshare: operation not permitted".
 */
import type { Spec } from '../spec/types';
import { TsociError } from '../util/errors';

type Mapping = { containerID: number; size: number };

function mapped(id: number, maps: readonly Mapping[]): boolean {
  return maps.some((m) => id >= m.containerID && id < m.containerID + m.size);
}

export function checkRootlessEuidConfig(spec: Spec, euid: number): void {
  if (euid === 0) return;
  const userns = spec.linux?.namespaces?.find((n) => n.type === 'user');
  if (!userns) throw new TsociError('rootless container requires user namespaces (linux.namespaces has no "user"; tsoci spec --rootless writes one)');
  if (userns.path) return; // joining one: its maps are already written
  const uids = spec.linux?.uidMappings ?? [];
  const gids = spec.linux?.gidMappings ?? [];
  if (uids.length === 0) throw new TsociError('rootless containers requires at least one UID mapping (linux.uidMappings)');
  if (gids.length === 0) throw new TsociError('rootless containers requires at least one GID mapping (linux.gidMappings)');
  for (const [i, m] of (spec.mounts ?? []).entries()) {
    for (const opt of m.options ?? []) {
      const kv = /^(uid|gid)=(\d+)$/.exec(opt);
      if (!kv) continue;
      if (!mapped(Number(kv[2]), kv[1] === 'uid' ? uids : gids)) {
        throw new TsociError(`mounts[${i}] (${m.destination}): cannot specify ${opt} mount option for rootless container: ${kv[1]} ${kv[2]} is not mapped in linux.${kv[1]}Mappings`);
      }
    }
  }
}
