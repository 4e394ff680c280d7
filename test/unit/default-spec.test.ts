import { defaultSpec } from '../../src/container/default-spec';
import { cgroupHost } from '../../src/cgroups/mode';

// runc's `spec`: a cgroup namespace only on a cgroup v2 (unified) host (runc's
// cgroups.bats "exec (cgroup v1+hybrid joins correct cgroup)" reads the host's paths inside)
test('cgroup namespace only on a unified (v2) host', () => {
  const types = (unified: boolean) => defaultSpec(unified).linux!.namespaces!.map((n) => n.type);
  expect(types(true)).toEqual(['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup']);
  expect(types(false)).toEqual(['pid', 'network', 'ipc', 'uts', 'mount']);
  // without an argument: this host's mode decides
  expect(defaultSpec().linux!.namespaces!.some((n) => n.type === 'cgroup')).toBe(cgroupHost().mode === 'v2');
});
