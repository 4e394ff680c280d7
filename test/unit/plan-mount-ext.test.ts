import { planLaunch } from '../../src/plan/plan';
import type { PlanOptions } from '../../src/plan/options';
import type { LinuxNamespace, Mount, Spec } from '../../src/spec/types';
import * as X from '../../src/plan/mount-ext';
import { parseMountOptions } from '../../src/plan/mount-options';

function plan(mounts: Mount[], linux: Partial<NonNullable<Spec['linux']>> = {}) {
  const namespaces: LinuxNamespace[] = [{ type: 'mount' }, { type: 'network' }];
  const spec: Spec = { ociVersion: '1.3.0', process: { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/' }, root: { path: 'rootfs' }, mounts, linux: { namespaces, ...linux } };
  const opts: PlanOptions = { bundle: '/b', mode: 'create', wait: 'detach', preserveFds: 0, noPivot: false };
  return planLaunch(spec, opts);
}
const attrs = (options: string[]) => X.recursiveAttrs(parseMountOptions(options));
const maps = [{ containerID: 0, hostID: 100000, size: 65536 }];

describe('recursive attributes', () => {
  test('MOUNT_ATTR_* values match Linux', () => {
    expect([X.MOUNT_ATTR_RDONLY, X.MOUNT_ATTR_NOSUID, X.MOUNT_ATTR_NODEV, X.MOUNT_ATTR_NOEXEC, X.MOUNT_ATTR__ATIME, X.MOUNT_ATTR_NOATIME,
      X.MOUNT_ATTR_STRICTATIME, X.MOUNT_ATTR_NODIRATIME, X.MOUNT_ATTR_IDMAP, X.MOUNT_ATTR_NOSYMFOLLOW])
      .toEqual([0x1, 0x2, 0x4, 0x8, 0x70, 0x10, 0x20, 0x80, 0x100000, 0x200000]);
  });

  test.each([
    [['rro'], { set: 0x1, clear: 0 }],
    [['rrw'], { set: 0, clear: 0x1 }],
    [['rro', 'rrw'], { set: 0, clear: 0x1 }],
    [['rnosuid', 'rnodev', 'rnoexec'], { set: 0xe, clear: 0 }],
    [['rsuid', 'rdev', 'rexec'], { set: 0, clear: 0xe }],
    [['rnoatime'], { set: 0x10, clear: 0x70 }],
    [['rstrictatime'], { set: 0x20, clear: 0x70 }],
    [['rrelatime'], { set: 0, clear: 0x70 }],
    [['ratime'], { set: 0, clear: 0x70 }],
    [['rnorelatime'], { set: 0, clear: 0x70 }], // runc: relatime (mounts_recursive.bats)
    [['rnodiratime', 'rnosymfollow'], { set: 0x200080, clear: 0 }],
  ])('%j → %j', (options, want) => {
    expect(attrs(options)).toEqual(want);
  });

  test('no r* option → none; a plain option after an r* one for the same flag wins', () => {
    expect(attrs(['ro', 'nosuid'])).toBeUndefined();
    expect(attrs(['rro', 'rw'])).toBeUndefined();
  });

  test('planned for binds only (a new file system has no submounts)', () => {
    const p = plan([
      { destination: '/a', type: 'bind', source: '/x', options: ['rbind', 'rro', 'rnosuid'] },
      { destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['rro'] },
    ]);
    expect(p.mounts[0].recursiveAttrs).toEqual({ set: 0x3, clear: 0 });
    expect(p.mounts[0].remountFlags & 0x1).toBe(0x1); // the top mount through the remount too
    expect(p.mounts[1].recursiveAttrs).toBeUndefined();
    expect(p.mounts[1].flags & 0x1).toBe(0x1);
  });
});

describe('id-mapped mounts', () => {
  test('mappings of the mount; idmap → not recursive, ridmap → recursive, none → idmap', () => {
    const p = plan([
      { destination: '/a', type: 'bind', source: '/x', options: ['bind', 'idmap'], uidMappings: maps, gidMappings: maps },
      { destination: '/b', type: 'bind', source: '/x', options: ['rbind', 'ridmap'], uidMappings: maps, gidMappings: maps },
      { destination: '/c', type: 'none', source: '/x', options: ['bind'], uidMappings: maps, gidMappings: maps },
      { destination: '/d', type: 'bind', source: '/x', options: ['bind'] },
    ]);
    expect(p.mounts[0].idmap).toEqual({ uidMappings: maps, gidMappings: maps, recursive: false });
    expect(p.mounts[1].idmap).toEqual({ uidMappings: maps, gidMappings: maps, recursive: true });
    expect(p.mounts[2].idmap).toEqual({ uidMappings: maps, gidMappings: maps, recursive: false });
    expect(p.mounts[3].idmap).toBeUndefined();
  });

  test("idmap without mappings takes the container's user namespace maps", () => {
    const gid = [{ containerID: 0, hostID: 200000, size: 1000 }];
    const p = plan([{ destination: '/a', type: 'bind', source: '/x', options: ['bind', 'ridmap'] }], {
      namespaces: [{ type: 'mount' }, { type: 'user' }], uidMappings: maps, gidMappings: gid,
    });
    expect(p.mounts[0].idmap).toEqual({ uidMappings: maps, gidMappings: gid, recursive: true });
  });

  test('idmap without mappings in a joined user namespace: that namespace is the mapping (runc)', () => {
    const p = plan([{ destination: '/a', type: 'bind', source: '/x', options: ['rbind', 'idmap'] }], {
      namespaces: [{ type: 'mount' }, { type: 'user', path: '/proc/42/ns/user' }],
    });
    expect(p.mounts[0].idmap).toEqual({ uidMappings: [], gidMappings: [], recursive: false, userns: '/proc/42/ns/user' });
    // mappings of its own still win
    const q = plan([{ destination: '/a', type: 'bind', source: '/x', options: ['bind'], uidMappings: maps, gidMappings: maps }], {
      namespaces: [{ type: 'mount' }, { type: 'user', path: '/proc/42/ns/user' }],
    });
    expect(q.mounts[0].idmap).toEqual({ uidMappings: maps, gidMappings: maps, recursive: false });
  });

  test('errors: not a bind; no mappings and no user namespace', () => {
    expect(() => plan([{ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['idmap'] }])).toThrow('mounts[0]: id-mapped mounts are only supported for bind mounts');
    expect(() => plan([{ destination: '/t', type: 'bind', source: '/x', options: ['bind', 'idmap'] }])).toThrow("mounts[0]: idmap without uidMappings/gidMappings needs the container's user namespace mappings");
  });
});
