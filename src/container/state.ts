import { liveStatus, openContainer, type ContainerDir, type StoredState } from '../state/store';
import { checkId } from '../state/paths';
import type { GlobalOptions } from './options';

/** runtime-spec state plus runc's extra fields (rootfs, created, owner). */
/** (in runc's order: scripts match `list --format json` output as text) */
export interface StateView {
  ociVersion: string;
  id: string;
  pid: number;
  status: string;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
  owner: string;
}

export function viewOf(cdir: ContainerDir, st: StoredState): StateView {
  const status = liveStatus(cdir, st);
  // runc's key order (ociVersion, id, pid, status, ...): its list.bats matches the JSON text
  return {
    ociVersion: st.ociVersion,
    id: st.id,
    // the spec: pid is REQUIRED when created or running; runc reports 0 once stopped
    pid: status === 'stopped' ? 0 : st.pid,
    status,
    bundle: st.bundle,
    rootfs: st.rootfs,
    created: st.created,
    annotations: st.annotations,
    owner: st.owner,
  };
}

export function state(opts: GlobalOptions & { id: string }): StateView {
  checkId(opts.id);
  const { cdir, state: st } = openContainer(opts.root, opts.id);
  return viewOf(cdir, st);
}
