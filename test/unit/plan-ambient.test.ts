import { ambientCapabilityWarnings } from '../../src/plan/ambient';

// runc's capabilities.bats: an ambient capability not in inheritable is skipped with a warning
test('an ambient capability that is not inheritable and permitted gets runc\'s warning', () => {
  const p = { cwd: '/', args: ['true'], capabilities: { permitted: ['CAP_KILL', 'CAP_CHOWN'], inheritable: ['CAP_KILL'], ambient: ['CAP_KILL', 'CAP_CHOWN', 'CAP_NET_RAW'] } };
  expect(ambientCapabilityWarnings(p)).toEqual([
    "can't raise ambient capability CAP_CHOWN: operation not permitted",
    "can't raise ambient capability CAP_NET_RAW: operation not permitted",
  ]);
  expect(ambientCapabilityWarnings({ cwd: '/', args: ['true'], capabilities: { permitted: ['CAP_KILL'], inheritable: ['CAP_KILL'], ambient: ['CAP_KILL'] } })).toEqual([]);
  expect(ambientCapabilityWarnings({ cwd: '/', args: ['true'] })).toEqual([]);
  expect(ambientCapabilityWarnings(undefined)).toEqual([]);
});
