import { planMemoryPolicy, parseNodeList } from '../../src/plan/mempolicy';

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
  expect(() => planMemoryPolicy({ mode: 'MPOL_PREFERRED_MANY' })).toThrow('needs at least one node');
  expect(() => planMemoryPolicy({ mode: 'MPOL_LOCAL', nodes: '1' })).toThrow('MPOL_LOCAL takes no nodes');
  expect(() => planMemoryPolicy({ mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES', 'MPOL_F_RELATIVE_NODES'] })).toThrow('exclude each other');
});
