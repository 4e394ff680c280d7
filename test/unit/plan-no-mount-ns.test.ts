import { planLaunch } from '../../src/plan/plan';
import { HOST_MOUNT_RECORD } from '../../src/plan/host-mounts';
import type { PlanOptions } from '../../src/plan/options';
import type { Spec } from '../../src/spec/types';

// A container without a mount namespace shares the host's (src/plan/host-mounts.ts): its
// mounts are recorded beside the exec fifo for delete; what would change host mounts other
// than its own is refused (masked/readonly paths as runc, a read-only rootfs unlike runc,
// which silently ignores it); propagation and --no-pivot do not apply.

function spec(over: Partial<NonNullable<Spec['linux']>> = {}): Spec {
  return {
    ociVersion: '1.3.0',
    process: { user: { uid: 0, gid: 0 }, args: ['/bin/true'], cwd: '/' },
    root: { path: 'rootfs' },
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    linux: { namespaces: [{ type: 'pid' }], ...over },
  };
}

function opts(over: Partial<PlanOptions> = {}): PlanOptions {
  return { bundle: '/run/bundles/b1', mode: 'create', wait: 'detach', execFifo: '/run/tsoci/c1/exec.fifo', preserveFds: 0, noPivot: false, ...over };
}

test('the mounts are planned as usual and recorded beside the exec fifo', () => {
  const p = planLaunch(spec(), opts());
  expect(p.namespaces.map((n) => n.type)).toEqual(['pid']);
  expect(p.hostMountRecord).toBe(`/run/tsoci/c1/${HOST_MOUNT_RECORD}`);
  expect(p.mounts.map((m) => m.destination)).toEqual(['/proc']);
});

test('with a mount namespace (created or joined) there is no record', () => {
  expect(planLaunch(spec({ namespaces: [{ type: 'mount' }] }), opts()).hostMountRecord).toBeUndefined();
  expect(planLaunch(spec({ namespaces: [{ type: 'mount', path: '/proc/1/ns/mnt' }] }), opts()).hostMountRecord).toBeUndefined();
});

test('no exec fifo, no state directory: refused', () => {
  expect(() => planLaunch(spec(), opts({ execFifo: undefined }))).toThrow(/without a mount namespace needs a state directory/);
});

test('masked and read-only paths: refused like runc', () => {
  expect(() => planLaunch(spec({ maskedPaths: ['/proc/kcore'] }), opts())).toThrow('linux.maskedPaths: unable to restrict sys entries without a private MNT namespace');
  expect(() => planLaunch(spec({ readonlyPaths: ['/proc/sys'] }), opts())).toThrow(/without a private MNT namespace/);
});

test('a read-only rootfs: refused (it would remount a host mount)', () => {
  const s = spec();
  s.root = { path: 'rootfs', readonly: true };
  expect(() => planLaunch(s, opts())).toThrow('root.readonly: unable to make the rootfs read-only without a private MNT namespace');
  s.root.readonly = false;
  expect(planLaunch(s, opts()).rootfsReadonly).toBe(false);
});

test('rootfsPropagation is not checked against --no-pivot (neither applies)', () => {
  const s = spec({ rootfsPropagation: 'rprivate' });
  expect(() => planLaunch(s, opts({ noPivot: true }))).not.toThrow();
  s.linux!.namespaces = [{ type: 'mount' }];
  expect(() => planLaunch(s, opts({ noPivot: true }))).toThrow(/not safe without pivot_root/);
});

test('exec mode is unchanged: joins what the container has, no record', () => {
  const p = planLaunch(spec(), { ...opts({ mode: 'exec', execTargetPid: 42, execFifo: undefined }) });
  expect(p.namespaces).toEqual([{ type: 'pid', path: '/proc/42/ns/pid' }]);
  expect(p.hostMountRecord).toBeUndefined();
});
