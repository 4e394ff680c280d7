import { defaultSpec } from '../../src/container/default-spec';

describe('defaultSpec (tsoci spec)', () => {
  const types = (unified: boolean) => (defaultSpec(unified).linux?.namespaces ?? []).map((n) => n.type);

  test('a cgroup namespace only on a cgroup v2 host, as runc spec does', () => {
    expect(types(true)).toEqual(['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup']);
    expect(types(false)).toEqual(['pid', 'network', 'ipc', 'uts', 'mount']);
  });
});
