import { native } from '../native';
import { removeIntelRdt } from '../intelrdt/intelrdt';
import { removeHostMounts } from '../host/host-mounts';
import type { ContainerDir, StoredState } from '../state/store';
import { isSameProcessAlive } from '../state/proc';
import { removeCgroups, killCgroup, stopSystemdScope } from '../cgroups';
import { faultPoint } from '../util/fault';
import { thawAfterKill } from './thaw';

/**
 * Tears a container down completely: its process (and, without a PID namespace of its
 * own, every process in its cgroup), its cgroups (and systemd scope) and its state directory. Idempotent:
 * used by delete, by delete --force, and by a failed create.
 */
export async function destroy(cdir: ContainerDir, state: StoredState): Promise<void> {
  if (state.pid && isSameProcessAlive(state.pid, state.initStartTime)) {
    native().pidfdKill(state.pid, 9);
    thawAfterKill(state.cgroupPaths); // a paused container dies only once thawed
    native().waitForExit(state.pid, 10000);
  }
  // Processes the init did not take with it (no PID namespace): kill them too.
  if (state.cgroupPaths) {
    killCgroup(state.cgroupPaths);
    faultPoint('destroy:killed');
    // systemd driver: systemd removes the directories it made; the others are removed below
    if (state.systemdUnit) await stopSystemdScope(state.systemdUnit);
    removeCgroups(state.cgroupPaths);
    faultPoint('destroy:cgroups');
  }
  removeHostMounts(cdir.dir); // no mount namespace: the mounts made in the host's (throws if one stays)
  removeIntelRdt(cdir.dir); // the CLOS and monitoring groups create made
  cdir.remove();
}
