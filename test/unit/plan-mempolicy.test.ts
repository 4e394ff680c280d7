import { memoryPolicyProblem, planMemoryPolicy, parseNodeList } from '../../src/plan/mempolicy';
import { parseSpec } from '../../src/spec/load';

test('modes and flags are the Linux numbers', () => {
  expect(planMemoryPolicy({ mode: 'MPOL_INTERLEAVE', nodes: '2-3', flags: ['MPOL_F_STATIC_NODES'] })).toEqual({ mode: 3, nodes: '2-3', flags: 1 << 15 });
  expect(planMemoryPolicy({ mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_NUMA_BALANCING'] })).toEqual({ mode: 2, nodes: '0', flags: 1 << 13 });
  expect(planMemoryPolicy({ mode: 'MPOL_WEIGHTED_INTERLEAVE', nodes: '0,1', flags: ['MPOL_F_RELATIVE_NODES'] })).toEqual({ mode: 6, nodes: '0,1', flags: 1 << 14 });
  expect(planMemoryPolicy({ mode: 'MPOL_LOCAL' })).toEqual({ mode: 4, nodes: '', flags: 0 });
  expect(planMemoryPolicy({ mode: 'MPOL_PREFERRED' })).toEqual({ mode: 1, nodes: '', flags: 0 });
  expect(planMemoryPolicy(undefined)).toBeUndefined();
});

test('node lists', () => {
  expect(parseNodeList(' 0-3, 7 ', 'f')).toBe('0-3,7');
  for (const bad of ['x', '3-1', '1-', ',', '0-4096']) expect(() => parseNodeList(bad, 'f')).toThrow('f: invalid node');
});

test('nodes required / forbidden by mode; exclusive flags', () => {
  expect(() => planMemoryPolicy({ mode: 'MPOL_PREFERRED_MANY' })).toThrow('memory policy mode requires at least one node but got 0');
  expect(() => planMemoryPolicy({ mode: 'MPOL_LOCAL', nodes: '1' })).toThrow('memory policy mode requires 0 nodes but got 1');
  expect(() => planMemoryPolicy({ mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES', 'MPOL_F_RELATIVE_NODES'] })).toThrow('exclude each other');
});

// runc's words (runc's memorypolicy.bats reads them), before any schema message
test.each([
  [{}, 'invalid memory policy mode ""'],
  [{ nodes: '0-7' }, 'invalid memory policy mode ""'],
  [{ mode: 'INTERLEAVE', nodes: '0' }, 'invalid memory policy mode "INTERLEAVE"'],
  [{ mode: 'MPOL_PREFERRED', nodes: '0', flags: ['MPOL_F_RELATIVE_NODES', 'badflag'] }, 'invalid memory policy flag "badflag"'],
  [{ mode: 'MPOL_DEFAULT', nodes: '0-7' }, 'memory policy mode requires 0 nodes but got 8'],
  [{ mode: 'MPOL_BIND', nodes: '0-9876543210', flags: [] }, 'invalid memory policy nodes "0-9876543210": invalid node range "0-9876543210"'],
  [{ mode: 'MPOL_BIND', nodes: 'x' }, 'invalid memory policy nodes "x"'],
])('memoryPolicy %j: %s', (mp, message) => {
  expect(memoryPolicyProblem(mp)).toContain(message);
  const config = { ociVersion: '1.3.0', root: { path: 'rootfs' }, process: { cwd: '/', args: ['true'] }, linux: { memoryPolicy: mp } };
  expect(() => parseSpec(JSON.stringify(config))).toThrow(message);
});

test('a valid policy is no problem', () => {
  expect(memoryPolicyProblem({ mode: 'MPOL_DEFAULT' })).toBeUndefined();
  expect(memoryPolicyProblem({ mode: 'MPOL_PREFERRED', nodes: '0', flags: ['MPOL_F_RELATIVE_NODES'] })).toBeUndefined();
  expect(memoryPolicyProblem(undefined)).toBeUndefined();
});
