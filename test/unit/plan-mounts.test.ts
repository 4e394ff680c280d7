import type { LinuxNamespace, Mount, Spec } from '../../src/spec/types';
import type { PlanOptions } from '../../src/plan/options';
import { planLaunch } from '../../src/plan/plan';
import { planMount, sysfsNeedsBind } from '../../src/plan/mounts';
import { namespaceFacts } from '../../src/plan/namespaces';
import * as MO from '../../src/plan/mount-options';
import { cleanContainerPath } from '../../src/plan/paths';

const BUNDLE = '/srv/bundle';

function opts(over: Partial<PlanOptions> = {}): PlanOptions {
  return { bundle: BUNDLE, mode: 'create', wait: 'detach', preserveFds: 0, noPivot: false, ...over };
}

function specWith(mounts: Mount[], namespaces: LinuxNamespace[] = [{ type: 'mount' }, { type: 'network' }]): Spec {
  return {
    ociVersion: '1.3.0',
    process: { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/' },
    root: { path: 'rootfs' },
    mounts,
    linux: { namespaces },
  };
}

function one(m: Mount, over: Partial<PlanOptions> = {}) {
  return planLaunch(specWith([m]), opts(over)).mounts[0];
}

describe('mount flag values', () => {
  test('MS_* constants match Linux', () => {
    expect(MO.MS_RDONLY).toBe(1);
    expect(MO.MS_NOSUID).toBe(2);
    expect(MO.MS_NODEV).toBe(4);
    expect(MO.MS_NOEXEC).toBe(8);
    expect(MO.MS_SYNCHRONOUS).toBe(16);
    expect(MO.MS_REMOUNT).toBe(32);
    expect(MO.MS_MANDLOCK).toBe(64);
    expect(MO.MS_DIRSYNC).toBe(128);
    expect(MO.MS_NOSYMFOLLOW).toBe(256);
    expect(MO.MS_NOATIME).toBe(1024);
    expect(MO.MS_NODIRATIME).toBe(2048);
    expect(MO.MS_BIND).toBe(4096);
    expect(MO.MS_REC).toBe(16384);
    expect(MO.MS_UNBINDABLE).toBe(1 << 17);
    expect(MO.MS_PRIVATE).toBe(1 << 18);
    expect(MO.MS_SLAVE).toBe(1 << 19);
    expect(MO.MS_SHARED).toBe(1 << 20);
    expect(MO.MS_RELATIME).toBe(1 << 21);
    expect(MO.MS_STRICTATIME).toBe(1 << 24);
  });
});

describe('each mount option (tmpfs)', () => {
  const setting: [string, number][] = [
    ['ro', MO.MS_RDONLY],
    ['nosuid', MO.MS_NOSUID],
    ['nodev', MO.MS_NODEV],
    ['noexec', MO.MS_NOEXEC],
    ['sync', MO.MS_SYNCHRONOUS],
    ['dirsync', MO.MS_DIRSYNC],
    ['remount', MO.MS_REMOUNT],
    ['mand', MO.MS_MANDLOCK],
    ['noatime', MO.MS_NOATIME],
    ['nodiratime', MO.MS_NODIRATIME],
    ['relatime', MO.MS_RELATIME],
    ['strictatime', MO.MS_STRICTATIME],
    ['iversion', MO.MS_I_VERSION],
    ['lazytime', MO.MS_LAZYTIME],
    ['silent', MO.MS_SILENT],
    ['nosymfollow', MO.MS_NOSYMFOLLOW],
    // recursive forms, mapped onto the plain flag for a fresh mount
    ['rro', MO.MS_RDONLY],
    ['rnosuid', MO.MS_NOSUID],
    ['rnodev', MO.MS_NODEV],
    ['rnoexec', MO.MS_NOEXEC],
    ['rnodiratime', MO.MS_NODIRATIME],
    ['rrelatime', MO.MS_RELATIME],
    ['rnoatime', MO.MS_NOATIME],
    ['rstrictatime', MO.MS_STRICTATIME],
    ['rnosymfollow', MO.MS_NOSYMFOLLOW],
  ];
  test.each(setting)('%s sets its flag', (o, flag) => {
    const m = one({ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: [o] });
    expect(m.flags).toBe(flag);
    expect(m.data).toBe('');
    expect(m.remountFlags).toBe(0);
  });

  const clearing: [string, string, number][] = [
    ['ro', 'rw', MO.MS_RDONLY],
    ['nosuid', 'suid', MO.MS_NOSUID],
    ['nodev', 'dev', MO.MS_NODEV],
    ['noexec', 'exec', MO.MS_NOEXEC],
    ['sync', 'async', MO.MS_SYNCHRONOUS],
    ['mand', 'nomand', MO.MS_MANDLOCK],
    ['noatime', 'atime', MO.MS_NOATIME],
    ['nodiratime', 'diratime', MO.MS_NODIRATIME],
    ['relatime', 'norelatime', MO.MS_RELATIME],
    ['strictatime', 'nostrictatime', MO.MS_STRICTATIME],
    ['iversion', 'noiversion', MO.MS_I_VERSION],
    ['lazytime', 'nolazytime', MO.MS_LAZYTIME],
    ['silent', 'loud', MO.MS_SILENT],
    ['nosymfollow', 'symfollow', MO.MS_NOSYMFOLLOW],
    ['rro', 'rrw', MO.MS_RDONLY],
    ['rnosuid', 'rsuid', MO.MS_NOSUID],
    ['rnodev', 'rdev', MO.MS_NODEV],
    ['rnoexec', 'rexec', MO.MS_NOEXEC],
    ['rnodiratime', 'rdiratime', MO.MS_NODIRATIME],
    ['rrelatime', 'rnorelatime', MO.MS_RELATIME],
    ['rnoatime', 'ratime', MO.MS_NOATIME],
    ['rstrictatime', 'rnostrictatime', MO.MS_STRICTATIME],
    ['rnosymfollow', 'rsymfollow', MO.MS_NOSYMFOLLOW],
  ];
  test.each(clearing)('%s then %s clears it (and the reverse order sets it)', (set, clear, flag) => {
    expect(one({ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: [set, clear] }).flags).toBe(0);
    expect(one({ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: [clear, set] }).flags).toBe(flag);
    const parsed = MO.parseMountOptions([set, clear]);
    expect(parsed.clearedFlags).toBe(flag);
  });

  test('defaults is a no-op; empty options are dropped', () => {
    expect(one({ destination: '/t', type: 'tmpfs', options: ['defaults', ''] })).toMatchObject({ flags: 0, data: '' });
  });

  test('unknown options go to data in order, comma-joined (like runc)', () => {
    const m = one({ destination: '/t', type: 'tmpfs', options: ['size=1m', 'nosuid', 'mode=700', 'rox', 'acl', 'uid=5'] });
    expect(m.flags).toBe(MO.MS_NOSUID);
    expect(m.data).toBe('size=1m,mode=700,rox,acl,uid=5');
  });

  test('idmap, ridmap and tmpcopyup are recognised and kept out of data', () => {
    // (id-mapped mounts must be binds: see plan-mount-ext.test.ts)
    const maps = [{ containerID: 0, hostID: 1000, size: 1 }];
    const m = one({ destination: '/t', type: 'bind', source: '/x', options: ['bind', 'idmap', 'size=1m', 'ridmap', 'tmpcopyup'], uidMappings: maps, gidMappings: maps });
    expect(m.data).toBe('size=1m');
    expect(MO.parseMountOptions(['idmap']).idmapRecursive).toBe(false);
    expect(MO.parseMountOptions(['ridmap']).idmapRecursive).toBe(true);
    expect(MO.parseMountOptions(['tmpcopyup']).tmpcopyup).toBe(true);
  });

  test('a destination given as a host path beneath the rootfs is taken relative to it (runc)', () => {
    const spec = specWith([
      { destination: `${BUNDLE}/rootfs/mnt/x`, type: 'bind', source: '/src', options: ['rbind'] },
      { destination: `${BUNDLE}/rootfsx/y`, type: 'tmpfs', source: 'tmpfs' },
      { destination: `${BUNDLE}/rootfs`, type: 'tmpfs', source: 'tmpfs' },
    ]);
    expect(planLaunch(spec, opts()).mounts.map((m) => m.destination)).toEqual(['/mnt/x', `${BUNDLE}/rootfsx/y`, `${BUNDLE}/rootfs`]);
  });

  test('binds record the flags their options clear (a clearing option alone also means a remount, as in runc)', () => {
    expect(one({ destination: '/t', type: 'bind', source: '/x', options: ['bind', 'dev'] })).toMatchObject({ remountFlags: 0, clearedFlags: MO.MS_NODEV });
    expect(one({ destination: '/t', type: 'bind', source: '/x', options: ['rbind', 'rw', 'nosuid'] })).toMatchObject({ remountFlags: MO.MS_NOSUID, clearedFlags: MO.MS_RDONLY });
    expect(one({ destination: '/t', type: 'bind', source: '/x', options: ['bind'] }).clearedFlags).toBeUndefined();
    expect(one({ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['rw'] }).clearedFlags).toBeUndefined();
  });

  test('tmpcopyup is planned for a tmpfs only (ignored elsewhere, like runc); absent without it', () => {
    const t = one({ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['ro', 'tmpcopyup', 'mode=700'] });
    expect(t).toMatchObject({ type: 'tmpfs', tmpcopyup: true, data: 'mode=700', flags: MO.MS_RDONLY });
    expect(one({ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }).tmpcopyup).toBeUndefined();
    expect(one({ destination: '/t', type: 'bind', source: '/x', options: ['bind', 'tmpcopyup'] }).tmpcopyup).toBeUndefined();
    expect(one({ destination: '/t', type: 'proc', source: 'proc', options: ['tmpcopyup'] }).tmpcopyup).toBeUndefined();
  });

  test('recursive options are recorded separately too', () => {
    const p = MO.parseMountOptions(['rro', 'rnosuid', 'rexec', 'nodev']);
    expect(p.recursiveSet).toBe(MO.MS_RDONLY | MO.MS_NOSUID);
    expect(p.recursiveClear).toBe(MO.MS_NOEXEC);
    expect(p.flags).toBe(MO.MS_RDONLY | MO.MS_NOSUID | MO.MS_NODEV);
  });

  test('a null byte in an option is an error naming the mount', () => {
    expect(() => one({ destination: '/t', type: 'tmpfs', options: ['size=1m', 'a\0b'] })).toThrow(
      'mounts[0].options[1]: mount option contains a null byte',
    );
  });
});

describe('propagation options', () => {
  const cases: [string, number][] = [
    ['private', MO.MS_PRIVATE],
    ['rprivate', MO.MS_PRIVATE | MO.MS_REC],
    ['shared', MO.MS_SHARED],
    ['rshared', MO.MS_SHARED | MO.MS_REC],
    ['slave', MO.MS_SLAVE],
    ['rslave', MO.MS_SLAVE | MO.MS_REC],
    ['unbindable', MO.MS_UNBINDABLE],
    ['runbindable', MO.MS_UNBINDABLE | MO.MS_REC],
  ];
  test.each(cases)('%s → one propagation call', (o, flag) => {
    const m = one({ destination: '/t', type: 'tmpfs', options: [o] });
    expect(m.propagationFlags).toEqual([flag]);
    expect(m.flags).toBe(0);
    expect(m.data).toBe('');
  });

  test('several, in order, on a bind too', () => {
    const m = one({ destination: '/t', type: 'bind', source: '/x', options: ['rbind', 'rprivate', 'ro', 'shared'] });
    expect(m.propagationFlags).toEqual([MO.MS_PRIVATE | MO.MS_REC, MO.MS_SHARED]);
    expect(m.flags).toBe(MO.MS_BIND | MO.MS_REC);
    expect(m.remountFlags).toBe(MO.MS_RDONLY);
  });
});

describe('destinations', () => {
  test.each([
    ['/proc', '/proc'],
    ['proc', '/proc'],
    ['dev/shm/', '/dev/shm'],
    ['/a//b/./c/', '/a/b/c'],
    ['/a/b/../c', '/a/c'],
    ['../../etc', '/etc'],
    ['/../../..', '/'],
    ['a/../../../b', '/b'],
    ['/', '/'],
  ])('%s → %s', (dest, want) => {
    expect(one({ destination: dest, type: 'tmpfs' }).destination).toBe(want);
    expect(cleanContainerPath(dest)).toBe(want);
  });

  test('empty destination is an error', () => {
    expect(() => one({ destination: '', type: 'tmpfs' })).toThrow('mounts[0].destination: must not be empty');
  });

  test('null bytes are errors', () => {
    expect(() => one({ destination: '/a\0b', type: 'tmpfs' })).toThrow('mounts[0].destination: contains a null byte');
    expect(() => one({ destination: '/a', type: 'bind', source: '/x\0', options: ['bind'] })).toThrow(
      'mounts[0].source: contains a null byte',
    );
  });

  test('the error names the right mount index', () => {
    const spec = specWith([
      { destination: '/ok', type: 'tmpfs' },
      { destination: '/ok2', type: 'tmpfs' },
      { destination: '/bad', type: 'bind', options: ['bind'] },
    ]);
    expect(() => planLaunch(spec, opts())).toThrow('mounts[2].source: a bind mount needs a source');
  });
});

describe('bind mounts', () => {
  test('type bind without a bind option is a plain bind', () => {
    expect(one({ destination: '/d', type: 'bind', source: '/host/d' })).toEqual({
      source: '/host/d',
      destination: '/d',
      type: 'bind',
      flags: MO.MS_BIND,
      data: '',
      remountFlags: 0,
      propagationFlags: [],
      createAs: 'dir',
    });
  });

  test('"bind" option with any type (or none) is a bind; "rbind" adds MS_REC', () => {
    expect(one({ destination: '/d', type: 'none', source: '/h', options: ['bind'] })).toMatchObject({ type: 'bind', flags: MO.MS_BIND });
    expect(one({ destination: '/d', source: '/h', options: ['rbind'] })).toMatchObject({ type: 'bind', flags: MO.MS_BIND | MO.MS_REC });
    expect(one({ destination: '/d', type: 'tmpfs', source: '/h', options: ['rbind'] })).toMatchObject({ type: 'bind' });
  });

  test('ro/nosuid/nodev/noexec/atime flags go into remountFlags', () => {
    const m = one({
      destination: '/d',
      type: 'bind',
      source: '/h',
      options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec', 'noatime', 'nodiratime', 'remount'],
    });
    expect(m.flags).toBe(MO.MS_BIND | MO.MS_REC);
    expect(m.remountFlags).toBe(MO.MS_RDONLY | MO.MS_NOSUID | MO.MS_NODEV | MO.MS_NOEXEC | MO.MS_NOATIME | MO.MS_NODIRATIME);
  });

  test('recursive attributes on a bind are folded into remountFlags (for now)', () => {
    const m = one({ destination: '/d', type: 'bind', source: '/h', options: ['rbind', 'rro', 'rnosuid'] });
    expect(m.remountFlags).toBe(MO.MS_RDONLY | MO.MS_NOSUID);
  });

  test('relative source resolves against the bundle; absolute is cleaned', () => {
    expect(one({ destination: '/d', type: 'bind', source: 'data/x', options: ['bind'] }).source).toBe('/srv/bundle/data/x');
    expect(one({ destination: '/d', type: 'bind', source: '../shared', options: ['bind'] }).source).toBe('/srv/shared');
    expect(one({ destination: '/d', type: 'bind', source: '/host//x/', options: ['bind'] }).source).toBe('/host/x');
  });

  test('non-bind sources are passed through untouched', () => {
    expect(one({ destination: '/d', type: 'tmpfs', source: 'relative-name' }).source).toBe('relative-name');
    expect(one({ destination: '/d', type: 'tmpfs' }).source).toBe('');
  });

  test('createAs: file when the injected isDirectory says the source is not a directory', () => {
    const seen: string[] = [];
    const isDirectory = (p: string) => {
      seen.push(p);
      return !p.endsWith('.conf');
    };
    const spec = specWith([
      { destination: '/etc/resolv.conf', type: 'bind', source: 'resolv.conf', options: ['rbind', 'ro'] },
      { destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs' },
    ]);
    const p = planLaunch(spec, opts({ isDirectory }));
    expect(p.mounts.map((m) => m.createAs)).toEqual(['file', 'dir', 'dir']);
    expect(seen).toEqual(['/srv/bundle/resolv.conf', '/srv/data']);
  });

  test('default isDirectory treats every source as a directory', () => {
    expect(one({ destination: '/f', type: 'bind', source: '/etc/hosts', options: ['bind'] }).createAs).toBe('dir');
  });
});

describe('sysfs without a new network namespace', () => {
  const sysfs: Mount = { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] };

  test('with a new netns: a real sysfs mount', () => {
    const p = planLaunch(specWith([sysfs], [{ type: 'mount' }, { type: 'network' }]), opts());
    expect(p.mounts[0]).toMatchObject({ type: 'sysfs', source: 'sysfs', flags: 15, remountFlags: 0 });
  });

  test('without a netns: rbind of the host /sys, read-only', () => {
    const p = planLaunch(specWith([sysfs], [{ type: 'mount' }]), opts());
    expect(p.mounts[0]).toEqual({
      source: '/sys',
      destination: '/sys',
      type: 'bind',
      flags: MO.MS_BIND | MO.MS_REC,
      data: '',
      remountFlags: MO.MS_NOSUID | MO.MS_NOEXEC | MO.MS_NODEV | MO.MS_RDONLY,
      propagationFlags: [],
      createAs: 'dir',
      replaces: 'sysfs', // sysfs' rules stay (an ordinary directory)
    });
  });

  test('read-only even when the options say rw', () => {
    const p = planLaunch(specWith([{ destination: '/sys', type: 'sysfs', options: ['rw'] }], [{ type: 'mount' }]), opts());
    expect(p.mounts[0].remountFlags).toBe(MO.MS_RDONLY);
  });

  test('joined netns: mount sysfs unless a user namespace is used', () => {
    const joined = namespaceFacts([{ type: 'network', path: '/var/run/netns/x' }]);
    expect(sysfsNeedsBind(joined)).toBe(false);
    const joinedUser = namespaceFacts([{ type: 'user' }, { type: 'network', path: '/var/run/netns/x' }]);
    expect(sysfsNeedsBind(joinedUser)).toBe(true);
    expect(sysfsNeedsBind(namespaceFacts([{ type: 'user' }, { type: 'network' }]))).toBe(false);
    expect(sysfsNeedsBind(namespaceFacts([]))).toBe(true);
  });
});

describe('cgroup mounts', () => {
  test('passed through as they are', () => {
    const m = planMount(
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'ro', 'rprivate'] },
      0,
      { bundle: BUNDLE, ns: namespaceFacts([]), isDirectory: () => true },
    );
    expect(m).toEqual({
      source: 'cgroup',
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      flags: MO.MS_NOSUID | MO.MS_RDONLY,
      data: '',
      remountFlags: 0,
      propagationFlags: [MO.MS_PRIVATE | MO.MS_REC],
      createAs: 'dir',
    });
  });
});

describe('mount order', () => {
  test('every spec mount, in spec order', () => {
    const mounts: Mount[] = [
      { destination: '/b', type: 'tmpfs' },
      { destination: '/a', type: 'tmpfs' },
      { destination: '/b/c', type: 'bind', source: '/x', options: ['bind'] },
      { destination: '/a', type: 'proc' },
    ];
    expect(planLaunch(specWith(mounts), opts()).mounts.map((m) => `${m.destination}:${m.type}`)).toEqual([
      '/b:tmpfs',
      '/a:tmpfs',
      '/b/c:bind',
      '/a:proc',
    ]);
  });
});
