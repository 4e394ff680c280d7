import type { Spec } from '../../src/spec/types';
import type { PlanOptions } from '../../src/plan/options';
import { planLaunch, planExec, hasPausingHooks, DEFAULT_ROOTFS_PROPAGATION } from '../../src/plan/plan';
import { PLAN_VERSION, type LaunchPlan } from '../../src/plan/launch-plan';
import { TsociError } from '../../src/util/errors';

/** `runc spec` output (runc 1.x, cgroup v1 host: no cgroup namespace). */
function runcDefaultSpec(): Spec {
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        effective: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        permitted: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runc',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    linux: {
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
    },
  };
}

/** A minimal valid spec: one process, a mount namespace, no mounts. */
function minimalSpec(): Spec {
  return {
    ociVersion: '1.3.0',
    process: { user: { uid: 0, gid: 0 }, args: ['/bin/true'], cwd: '/' },
    root: { path: 'rootfs' },
    linux: { namespaces: [{ type: 'mount' }] },
  };
}

function createOpts(over: Partial<PlanOptions> = {}): PlanOptions {
  return {
    bundle: '/run/bundles/b1',
    mode: 'create',
    wait: 'detach',
    execFifo: '/run/tsoci/c1/exec.fifo',
    preserveFds: 0,
    noPivot: false,
    ...over,
  };
}

const MS_RDONLY = 1;
const MS_NOSUID = 2;
const MS_NODEV = 4;
const MS_NOEXEC = 8;
const MS_BIND = 4096;
const MS_REC = 16384;
const MS_SLAVE = 1 << 19;
const MS_PRIVATE = 1 << 18;
const MS_SHARED = 1 << 20;
const MS_RELATIME = 1 << 21;
const MS_STRICTATIME = 1 << 24;

function plan(spec: Spec, over: Partial<PlanOptions> = {}): LaunchPlan {
  return planLaunch(spec, createOpts(over));
}

describe('planLaunch: runc default spec', () => {
  const p = plan(runcDefaultSpec(), { consoleSocket: '/tmp/console.sock' });

  test('header and options', () => {
    expect(p.version).toBe(PLAN_VERSION);
    expect(p.mode).toBe('create');
    expect(p.wait).toBe('detach');
    expect(p.execFifo).toBe('/run/tsoci/c1/exec.fifo');
    expect(p.consoleSocket).toBe('/tmp/console.sock');
    expect(p.preserveFds).toBe(0);
    expect(p.noPivot).toBe(false);
    expect(p.execTargetPid).toBeUndefined();
    expect(p.pauseForHooks).toBe(false);
  });

  test('rootfs', () => {
    expect(p.rootfs).toBe('/run/bundles/b1/rootfs');
    expect(p.rootfsReadonly).toBe(true);
    expect(p.rootfsPropagation).toBe(MS_SLAVE | MS_REC);
  });

  test('namespaces, in plan order', () => {
    expect(p.namespaces).toEqual([{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'network' }, { type: 'mount' }]);
    expect(p.uidMappings).toEqual([]);
    expect(p.gidMappings).toEqual([]);
    expect(p.setgroupsDeny).toBe(false);
    expect(p.timeOffsets).toEqual([]);
    expect(p.hostname).toBe('runc');
    expect(p.domainname).toBeUndefined();
  });

  test('mounts', () => {
    expect(p.mounts).toEqual([
      { source: 'proc', destination: '/proc', type: 'proc', flags: 0, data: '', remountFlags: 0, propagationFlags: [], createAs: 'dir' },
      {
        source: 'tmpfs',
        destination: '/dev',
        type: 'tmpfs',
        flags: MS_NOSUID | MS_STRICTATIME,
        data: 'mode=755,size=65536k',
        remountFlags: 0,
        propagationFlags: [],
        createAs: 'dir',
      },
      {
        source: 'devpts',
        destination: '/dev/pts',
        type: 'devpts',
        flags: MS_NOSUID | MS_NOEXEC,
        data: 'newinstance,ptmxmode=0666,mode=0620,gid=5',
        remountFlags: 0,
        propagationFlags: [],
        createAs: 'dir',
      },
      {
        source: 'shm',
        destination: '/dev/shm',
        type: 'tmpfs',
        flags: MS_NOSUID | MS_NOEXEC | MS_NODEV,
        data: 'mode=1777,size=65536k',
        remountFlags: 0,
        propagationFlags: [],
        createAs: 'dir',
      },
      {
        source: 'mqueue',
        destination: '/dev/mqueue',
        type: 'mqueue',
        flags: MS_NOSUID | MS_NOEXEC | MS_NODEV,
        data: '',
        remountFlags: 0,
        propagationFlags: [],
        createAs: 'dir',
      },
      {
        source: 'sysfs',
        destination: '/sys',
        type: 'sysfs',
        flags: MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY,
        data: '',
        remountFlags: 0,
        propagationFlags: [],
        createAs: 'dir',
      },
      {
        source: 'cgroup',
        destination: '/sys/fs/cgroup',
        type: 'cgroup',
        flags: MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY,
        data: '',
        remountFlags: 0,
        propagationFlags: [],
        createAs: 'dir',
      },
    ]);
  });

  test('default devices (no user namespace: mknod)', () => {
    expect(p.devices).toEqual([
      { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
      { path: '/dev/zero', type: 'c', major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 },
      { path: '/dev/full', type: 'c', major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 },
      { path: '/dev/random', type: 'c', major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0 },
      { path: '/dev/urandom', type: 'c', major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0 },
      { path: '/dev/tty', type: 'c', major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
    ]);
  });

  test('default /dev symlinks', () => {
    expect(p.symlinks).toEqual([
      { target: '/proc/self/fd', path: '/dev/fd' },
      { target: '/proc/self/fd/0', path: '/dev/stdin' },
      { target: '/proc/self/fd/1', path: '/dev/stdout' },
      { target: '/proc/self/fd/2', path: '/dev/stderr' },
      { target: 'pts/ptmx', path: '/dev/ptmx' },
    ]);
  });

  test('masked and readonly paths, sysctl', () => {
    expect(p.maskedPaths).toEqual(runcDefaultSpec().linux!.maskedPaths);
    expect(p.readonlyPaths).toEqual(runcDefaultSpec().linux!.readonlyPaths);
    expect(p.sysctl).toEqual({});
  });

  test('process', () => {
    expect(p.process).toEqual({
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      uid: 0,
      gid: 0,
      additionalGids: [],
      umask: -1,
      terminal: true,
      noNewPrivileges: true,
      capabilities: { bounding: [29, 5, 10], effective: [29, 5, 10], permitted: [29, 5, 10], inheritable: [], ambient: [] },
      rlimits: [{ resource: 7, soft: 1024, hard: 1024 }],
    });
  });

  test('the plan is plain JSON (round-trips)', () => {
    expect(JSON.parse(JSON.stringify(p))).toEqual(p);
  });

  test('the spec is not modified', () => {
    const spec = runcDefaultSpec();
    const before = JSON.stringify(spec);
    plan(spec, { consoleSocket: '/tmp/c.sock' });
    expect(JSON.stringify(spec)).toBe(before);
  });

  test('/dev/core link when the host has /proc/kcore', () => {
    const q = plan(runcDefaultSpec(), { consoleSocket: '/tmp/c.sock', hostHasKcore: true });
    expect(q.symlinks).toContainEqual({ target: '/proc/kcore', path: '/dev/core' });
  });

  test('rootless variant (runc spec --rootless): user ns, single maps, sysfs rbind', () => {
    const spec = runcDefaultSpec();
    spec.linux!.namespaces = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'user' }];
    spec.linux!.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    spec.linux!.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    spec.mounts![5] = { source: '/sys', destination: '/sys', type: 'none', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
    const q = plan(spec, { consoleSocket: '/tmp/c.sock', rootless: true });
    expect(q.namespaces.map((n) => n.type)).toEqual(['user', 'pid', 'ipc', 'uts', 'mount']);
    expect(q.uidMappings).toEqual([{ containerID: 0, hostID: 1000, size: 1 }]);
    expect(q.setgroupsDeny).toBe(true);
    expect(q.mounts[5]).toEqual({
      source: '/sys',
      destination: '/sys',
      type: 'bind',
      flags: MS_BIND | MS_REC,
      data: '',
      remountFlags: MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY,
      propagationFlags: [],
      createAs: 'dir',
    });
    expect(q.devices.map((d) => d.bindFrom)).toEqual(q.devices.map((d) => d.path));
    expect(q.devices).toHaveLength(6);
  });
});

describe('planLaunch: devices', () => {
  test('no /dev mount: no default devices, no symlinks, spec devices still planned', () => {
    const spec = minimalSpec();
    spec.linux!.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }];
    const p = plan(spec);
    expect(p.devices).toEqual([{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }]);
    expect(p.symlinks).toEqual([]);
  });

  test('/dev mount with a trailing slash or dots still counts', () => {
    const spec = minimalSpec();
    spec.mounts = [{ destination: '/x/../dev/', type: 'tmpfs', source: 'tmpfs' }];
    expect(plan(spec).devices).toHaveLength(6);
  });

  test('a spec device overrides the default with the same path', () => {
    const spec = runcDefaultSpec();
    spec.process!.terminal = false;
    spec.linux!.devices = [
      { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o600, uid: 5, gid: 6 },
      { path: '/dev/sda', type: 'b', major: 8, minor: 0, fileMode: 0o20660 },
      { path: '/dev/fifo', type: 'p' },
      { path: '/dev/ttyS9', type: 'u', major: 4, minor: 73 },
    ];
    const p = plan(spec);
    expect(p.devices.map((d) => d.path)).toEqual([
      '/dev/zero',
      '/dev/full',
      '/dev/random',
      '/dev/urandom',
      '/dev/tty',
      '/dev/null',
      '/dev/sda',
      '/dev/fifo',
      '/dev/ttyS9',
    ]);
    expect(p.devices[5]).toEqual({ path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o600, uid: 5, gid: 6 });
    // S_IFBLK removed from fileMode
    expect(p.devices[6]).toEqual({ path: '/dev/sda', type: 'b', major: 8, minor: 0, fileMode: 0o660, uid: 0, gid: 0 });
    expect(p.devices[7]).toEqual({ path: '/dev/fifo', type: 'p', major: 0, minor: 0, fileMode: 0o666, uid: 0, gid: 0 });
    expect(p.devices[8].type).toBe('c');
  });

  test('user namespace (created or joined): every device is bind-mounted from the host', () => {
    for (const userNs of [{ type: 'user' as const }, { type: 'user' as const, path: '/proc/42/ns/user' }]) {
      const spec = runcDefaultSpec();
      spec.process!.terminal = false;
      spec.linux!.namespaces!.push(userNs);
      spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      spec.linux!.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }];
      const p = plan(spec);
      expect(p.devices).toHaveLength(7);
      for (const d of p.devices) expect(d.bindFrom).toBe(d.path);
      expect(p.devices[0]).toEqual({ path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0, bindFrom: '/dev/null' });
    }
  });

  test('device errors name the field', () => {
    const bad: [object, RegExp][] = [
      [{ path: 'dev/x', type: 'c', major: 1, minor: 1 }, /^linux\.devices\[0\]\.path: device path must be absolute/],
      [{ path: '/dev/x', type: 'z', major: 1, minor: 1 }, /^linux\.devices\[0\]\.type: invalid device type "z"/],
      [{ path: '/dev/x', type: 'c' }, /^linux\.devices\[0\]: major and minor are required/],
      [{ path: '/dev/x', type: 'b', major: -1, minor: 0 }, /^linux\.devices\[0\]\.major: /],
    ];
    for (const [dev, re] of bad) {
      const spec = minimalSpec();
      spec.linux!.devices = [dev as never];
      expect(() => plan(spec)).toThrow(re);
    }
  });
});

describe('planLaunch: namespaces', () => {
  test('user first, mount last; joined namespaces keep their path', () => {
    const spec = minimalSpec();
    spec.linux!.namespaces = [
      { type: 'mount' },
      { type: 'time' },
      { type: 'network', path: '/var/run/netns/n1' },
      { type: 'cgroup' },
      { type: 'uts' },
      { type: 'ipc', path: '/proc/7/ns/ipc' },
      { type: 'pid' },
      { type: 'user' },
    ];
    spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    const p = plan(spec);
    expect(p.namespaces).toEqual([
      { type: 'user' },
      { type: 'pid' },
      { type: 'ipc', path: '/proc/7/ns/ipc' },
      { type: 'uts' },
      { type: 'network', path: '/var/run/netns/n1' },
      { type: 'cgroup' },
      { type: 'time' },
      { type: 'mount' },
    ]);
    expect(p.gidMappings).toEqual([{ containerID: 0, hostID: 100000, size: 65536 }]);
    expect(p.setgroupsDeny).toBe(false);
  });

  test('duplicate and unknown types, relative paths', () => {
    const spec = minimalSpec();
    spec.linux!.namespaces = [{ type: 'mount' }, { type: 'pid' }, { type: 'mount' }];
    expect(() => plan(spec)).toThrow('linux.namespaces[2].type: duplicated namespace "mount"');
    spec.linux!.namespaces = [{ type: 'mount' }, { type: 'bogus' as never }];
    expect(() => plan(spec)).toThrow('linux.namespaces[1].type: unknown namespace type "bogus"');
    spec.linux!.namespaces = [{ type: 'mount' }, { type: 'network', path: 'netns/x' }];
    expect(() => plan(spec)).toThrow(/^linux\.namespaces\[1\]\.path: namespace path must be absolute/);
  });

  test('hostname/domainname need a UTS namespace', () => {
    const spec = minimalSpec();
    spec.hostname = 'box';
    expect(() => plan(spec)).toThrow('unable to set hostname without a private UTS namespace');
    expect(() => plan(spec)).toThrow(TsociError);
    delete spec.hostname;
    spec.domainname = 'example.org';
    expect(() => plan(spec)).toThrow('unable to set domainname without a private UTS namespace');
    spec.linux!.namespaces!.push({ type: 'uts' });
    spec.hostname = 'box';
    const p = plan(spec);
    expect(p.hostname).toBe('box');
    expect(p.domainname).toBe('example.org');
  });

  test('an empty hostname without UTS is fine and omitted', () => {
    const spec = minimalSpec();
    spec.hostname = '';
    expect(plan(spec).hostname).toBeUndefined();
  });

  test('user namespace mappings rules', () => {
    const spec = minimalSpec();
    spec.linux!.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    expect(() => plan(spec)).toThrow(/user namespace mappings specified, but user namespace isn't enabled/);
    delete spec.linux!.uidMappings;
    spec.linux!.namespaces!.push({ type: 'user' });
    expect(() => plan(spec)).toThrow(/user namespace enabled, but no namespace path to join nor mappings/);
    spec.linux!.namespaces = [{ type: 'mount' }, { type: 'user', path: '/proc/9/ns/user' }];
    spec.linux!.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    spec.linux!.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    const p = plan(spec, { rootless: true });
    // joining: the maps are not written again
    expect(p.uidMappings).toEqual([]);
    expect(p.setgroupsDeny).toBe(false);
  });

  test('setgroupsDeny only for rootless with a single size-1 gid map', () => {
    const spec = minimalSpec();
    spec.linux!.namespaces!.push({ type: 'user' });
    spec.linux!.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    spec.linux!.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    expect(plan(spec).setgroupsDeny).toBe(false);
    expect(plan(spec, { rootless: true }).setgroupsDeny).toBe(true);
    spec.linux!.gidMappings = [
      { containerID: 0, hostID: 1000, size: 1 },
      { containerID: 1, hostID: 100000, size: 65536 },
    ];
    expect(plan(spec, { rootless: true }).setgroupsDeny).toBe(false);
  });

  test('bad id mappings', () => {
    const spec = minimalSpec();
    spec.linux!.namespaces!.push({ type: 'user' });
    spec.linux!.uidMappings = [{ containerID: 0, hostID: 1000, size: 0 }];
    spec.linux!.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    expect(() => plan(spec)).toThrow('linux.uidMappings[0].size: must be at least 1');
    spec.linux!.uidMappings = [{ containerID: 0, hostID: -1, size: 1 }];
    expect(() => plan(spec)).toThrow(/^linux\.uidMappings\[0\]\.hostID: must be an integer/);
  });

  test('time offsets', () => {
    const spec = minimalSpec();
    spec.linux!.timeOffsets = { monotonic: { secs: 3600, nanosecs: 5 }, boottime: { secs: -10 } };
    expect(() => plan(spec)).toThrow(/time namespace offsets specified, but time namespace isn't enabled/);
    spec.linux!.namespaces!.push({ type: 'time' });
    expect(plan(spec).timeOffsets).toEqual([
      { clock: 'monotonic', secs: 3600, nanosecs: 5 },
      { clock: 'boottime', secs: -10, nanosecs: 0 },
    ]);
    expect(() => plan(spec, { hostHasTimeNs: false })).toThrow(/time namespaces aren't enabled in the kernel/);
    spec.linux!.timeOffsets = { realtime: { secs: 1 } };
    expect(() => plan(spec)).toThrow('linux.timeOffsets.realtime: unknown clock "realtime"');
    spec.linux!.timeOffsets = { monotonic: { secs: 1 } };
    spec.linux!.namespaces = [{ type: 'mount' }, { type: 'time', path: '/proc/1/ns/time' }];
    expect(() => plan(spec)).toThrow(/time namespace is joined by path/);
  });
});

describe('planLaunch: rootfs and options', () => {
  test('root.path relative to the bundle, or absolute', () => {
    const spec = minimalSpec();
    spec.root = { path: '../other/rootfs/' };
    expect(plan(spec).rootfs).toBe('/run/bundles/other/rootfs');
    spec.root = { path: '/srv/rootfs' };
    expect(plan(spec).rootfs).toBe('/srv/rootfs');
    expect(plan(spec).rootfsReadonly).toBe(false);
    delete (spec as { root?: unknown }).root;
    expect(() => plan(spec)).toThrow('root.path: must be set');
  });

  test('rootfsPropagation', () => {
    const spec = minimalSpec();
    expect(plan(spec).rootfsPropagation).toBe(DEFAULT_ROOTFS_PROPAGATION);
    spec.linux!.rootfsPropagation = 'private';
    expect(plan(spec).rootfsPropagation).toBe(MS_PRIVATE);
    spec.linux!.rootfsPropagation = 'shared';
    expect(plan(spec).rootfsPropagation).toBe(MS_SHARED);
    spec.linux!.rootfsPropagation = 'rslave' as never;
    expect(plan(spec).rootfsPropagation).toBe(MS_SLAVE | MS_REC);
    spec.linux!.rootfsPropagation = 'private';
    expect(() => plan(spec, { noPivot: true })).toThrow(/not safe without pivot_root/);
    spec.linux!.rootfsPropagation = 'weird' as never;
    expect(() => plan(spec)).toThrow('linux.rootfsPropagation: "weird" is not supported');
  });

  test('CLI options are copied', () => {
    const spec = minimalSpec();
    const p = plan(spec, { wait: 'foreground', preserveFds: 2, noPivot: true, execFifo: undefined });
    expect(p.wait).toBe('foreground');
    expect(p.preserveFds).toBe(2);
    expect(p.noPivot).toBe(true);
    expect('execFifo' in p).toBe(false);
    expect('consoleSocket' in p).toBe(false);
  });

  test('bundle must be absolute, preserveFds non-negative', () => {
    expect(() => plan(minimalSpec(), { bundle: 'rel' })).toThrow(/^bundle: must be an absolute path/);
    expect(() => plan(minimalSpec(), { preserveFds: -1 })).toThrow(/^preserve-fds: /);
  });

  test('terminal and console socket must agree when detaching', () => {
    const spec = minimalSpec();
    spec.process!.terminal = true;
    expect(() => plan(spec)).toThrow(/cannot allocate tty .* without setting console socket/);
    expect(plan(spec, { wait: 'foreground' }).process.terminal).toBe(true);
    spec.process!.terminal = false;
    expect(() => plan(spec, { consoleSocket: '/tmp/s' })).toThrow(/cannot use console socket/);
  });

  test('masked/readonly paths need a mount namespace and are cleaned', () => {
    const spec = minimalSpec();
    // a path listed twice (also once cleaned) is there once, in first-seen order (runc's mask.bats)
    spec.linux!.maskedPaths = ['/proc/kcore/', '/sys/../sys/firmware', '/proc/kcore', '/sys/firmware/'];
    spec.linux!.readonlyPaths = ['/proc/sys', '/proc//sys'];
    const p = plan(spec);
    expect(p.maskedPaths).toEqual(['/proc/kcore', '/sys/firmware']);
    expect(p.readonlyPaths).toEqual(['/proc/sys']);
    // listed twice (also after cleaning): one mount, as runc (mask.bats "duplicate paths")
    spec.linux!.maskedPaths = ['/testdir', '/proc/kcore', '/testdir', '/testdir/'];
    spec.linux!.readonlyPaths = ['/proc/sys', '/proc/sys'];
    expect(plan(spec).maskedPaths).toEqual(['/testdir', '/proc/kcore']);
    expect(plan(spec).readonlyPaths).toEqual(['/proc/sys']);
    spec.linux!.maskedPaths = ['/proc/kcore/', '/sys/../sys/firmware'];
    spec.linux!.readonlyPaths = ['/proc/sys'];
    spec.linux!.namespaces = [];
    expect(() => plan(spec)).toThrow(/without a private MNT namespace/);
    spec.linux!.namespaces = [{ type: 'mount' }];
    spec.linux!.maskedPaths = ['proc/kcore'];
    expect(() => plan(spec)).toThrow(/^linux\.maskedPaths\[0\]: must be an absolute path/);
  });

  test('sysctl is copied', () => {
    const spec = minimalSpec();
    spec.linux!.namespaces!.push({ type: 'network' });
    spec.linux!.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.msgmax': '65536' };
    const p = plan(spec);
    expect(p.sysctl).toEqual({ 'net.ipv4.ip_forward': '1', 'kernel.msgmax': '65536' });
    expect(p.sysctl).not.toBe(spec.linux!.sysctl);
  });
});

describe('pauseForHooks', () => {
  const hook = { path: '/bin/true' };
  test.each([
    ['prestart', true],
    ['createRuntime', true],
    ['createContainer', true],
    ['startContainer', true],
    ['poststart', false],
    ['poststop', false],
  ])('%s → %s', (kind, expected) => {
    const spec = minimalSpec();
    spec.hooks = { [kind]: [hook] };
    expect(hasPausingHooks(spec)).toBe(expected);
    expect(plan(spec).pauseForHooks).toBe(expected);
  });

  test('no hooks or empty lists → false', () => {
    const spec = minimalSpec();
    expect(plan(spec).pauseForHooks).toBe(false);
    spec.hooks = { prestart: [], createRuntime: [] };
    expect(plan(spec).pauseForHooks).toBe(false);
  });
});

describe('exec mode', () => {
  const execProcess = { user: { uid: 1000, gid: 1000 }, args: ['/bin/ps', 'aux'], cwd: '/tmp', env: ['A=1'] };

  test('joins every namespace of the container through /proc/<pid>/ns', () => {
    const spec = runcDefaultSpec();
    spec.linux!.namespaces = [
      { type: 'pid' },
      { type: 'network', path: '/var/run/netns/n1' },
      { type: 'ipc' },
      { type: 'uts' },
      { type: 'mount' },
      { type: 'user' },
      { type: 'cgroup' },
      { type: 'time' },
    ];
    const p = planLaunch(spec, createOpts({ mode: 'exec', execTargetPid: 4242, execFifo: undefined, process: execProcess }));
    expect(p.mode).toBe('exec');
    expect(p.execTargetPid).toBe(4242);
    expect(p.namespaces).toEqual([
      { type: 'user', path: '/proc/4242/ns/user' },
      { type: 'pid', path: '/proc/4242/ns/pid' },
      { type: 'ipc', path: '/proc/4242/ns/ipc' },
      { type: 'uts', path: '/proc/4242/ns/uts' },
      { type: 'network', path: '/proc/4242/ns/net' },
      { type: 'cgroup', path: '/proc/4242/ns/cgroup' },
      { type: 'time', path: '/proc/4242/ns/time' },
      { type: 'mount', path: '/proc/4242/ns/mnt' },
    ]);
    expect(p.process.args).toEqual(['/bin/ps', 'aux']);
    expect(p.process.uid).toBe(1000);
    expect(p.process.cwd).toBe('/tmp');
    expect(p.mounts).toEqual([]);
    expect(p.devices).toEqual([]);
    expect(p.symlinks).toEqual([]);
    expect(p.uidMappings).toEqual([]);
    expect(p.pauseForHooks).toBe(false);
    expect(p.hostname).toBeUndefined();
    expect(p.execFifo).toBeUndefined();
  });

  test('planExec helper gives the same plan', () => {
    const spec = runcDefaultSpec();
    const opts = createOpts({ mode: 'exec', execTargetPid: 77, execFifo: undefined });
    expect(planExec(spec, execProcess, opts)).toEqual(planLaunch(spec, { ...opts, process: execProcess }));
  });

  test('the container\'s memory policy applies to an exec too (runc; memorypolicy.bats)', () => {
    const spec = minimalSpec();
    spec.linux!.memoryPolicy = { mode: 'MPOL_PREFERRED', nodes: '0', flags: ['MPOL_F_RELATIVE_NODES'] };
    const p = planExec(spec, execProcess, createOpts({ mode: 'exec', execTargetPid: 5 }));
    expect(p.memoryPolicy).toEqual({ mode: 1, nodes: '0', flags: 1 << 14 });
    delete spec.linux!.memoryPolicy;
    expect(planExec(spec, execProcess, createOpts({ mode: 'exec', execTargetPid: 5 })).memoryPolicy).toBeUndefined();
  });

  test('only the namespaces the container has', () => {
    const spec = minimalSpec();
    const p = planExec(spec, execProcess, createOpts({ mode: 'exec', execTargetPid: 5 }));
    expect(p.namespaces).toEqual([{ type: 'mount', path: '/proc/5/ns/mnt' }]);
  });

  test('falls back to spec.process; needs a target pid; cwd defaults to /', () => {
    const spec = minimalSpec();
    expect(planLaunch(spec, createOpts({ mode: 'exec', execTargetPid: 5 })).process.args).toEqual(['/bin/true']);
    expect(() => planLaunch(spec, createOpts({ mode: 'exec' }))).toThrow('execTargetPid: required in exec mode');
    const p = planExec(spec, { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '' }, createOpts({ mode: 'exec', execTargetPid: 5 }));
    expect(p.process.cwd).toBe('/');
    expect(() =>
      planExec(spec, { user: { uid: 0, gid: 0 }, args: [], cwd: '/' }, createOpts({ mode: 'exec', execTargetPid: 5 })),
    ).toThrow('process.args must not be empty');
  });
});
