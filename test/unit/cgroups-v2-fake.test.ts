/**
 * The cgroup v2 driver's directory and file logic against a temporary directory laid out
 * like cgroupfs, and planCgroupMounts / stats on sample layouts. Why a fake: these hosts
 * are hybrid with no controller enabled on the cgroup2 side and no systemd, so real v2
 * resource files cannot be exercised here. The fake tree has the files the kernel would
 * create; the host description comes from a mountinfo text pointing at the temp dir.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  createCgroups, updateCgroups, freezeCgroups, thawCgroups, isFrozen, killCgroup, cgroupPids, cgroupStats, cgroupStatsJSON,
  detectCgroupHost, planCgroupMounts, CgroupHost,
} from '../../src/cgroups';
import { MS_BIND, MS_REC, MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC } from '../../src/cgroups/mounts';
import { setDeviceFilterBackend, DeviceFilterRule } from '../../src/cgroups/devices-v2';
import { DEFAULT_DEVICE_RULES } from '../../src/cgroups/resources-v1';

let tmp: string;
let mp: string;
let host: CgroupHost;
/**
 * The device filter's attach step: bpf(BPF_PROG_ATTACH) refuses a plain directory (EBADF),
 * so here it records what would be attached (the real kernel: cgroups-v2-devices-real.test.ts).
 */
let attached: { dir: string; rules: DeviceFilterRule[] }[];
let attachError: Error | undefined;

const put = (p: string, content = '') => {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
};
const get = (p: string) => fs.readFileSync(p, 'utf8');
const LEAF_FILES = ['memory.max', 'memory.low', 'memory.swap.max', 'memory.high', 'cpu.weight', 'cpu.max', 'cpu.max.burst', 'cpu.idle', 'cpuset.cpus', 'cpuset.mems',
  'pids.max', 'io.weight', 'io.max', 'hugetlb.2MB.max', 'rdma.max', 'cgroup.procs', 'cgroup.freeze', 'cgroup.kill', 'cgroup.subtree_control'];
const fakeLeaf = (dir: string) => {
  for (const f of LEAF_FILES) put(path.join(dir, f));
  put(path.join(dir, 'memory.current'), '1000\n');
};

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-cgv2-'));
  mp = path.join(tmp, 'cgroup');
  put(path.join(mp, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma misc\n');
  put(path.join(mp, 'cgroup.subtree_control'));
  host = detectCgroupHost({ mountinfo: `30 1 0:26 / ${mp} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n`, procSelfCgroup: '0::/user.slice/me.scope\n', systemdRunning: false });
  attached = [];
  attachError = undefined;
  setDeviceFilterBackend({
    apply(dir, rules) {
      if (attachError) throw attachError;
      attached.push({ dir, rules });
    },
  });
});
afterEach(() => {
  setDeviceFilterBackend();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('the temp layout is detected as a pure v2 host', () => {
  expect(host.mode).toBe('v2');
  expect(host.unified!.mountPoint).toBe(mp);
});

test('create: enables controllers down the path, writes converted values, unified last', () => {
  const leaf = path.join(mp, 'k8s/pod1/ctr');
  put(path.join(mp, 'k8s/cgroup.subtree_control'));
  put(path.join(mp, 'k8s/pod1/cgroup.subtree_control'));
  fakeLeaf(leaf);
  const paths = createCgroups({
    id: 'ctr', cgroupsPath: '/k8s/pod1/ctr', systemd: false, rootless: false,
    resources: {
      memory: { limit: 1 << 20, swap: 3 << 20, reservation: 1 << 19, swappiness: 50, kernel: 1, disableOOMKiller: true },
      cpu: { shares: 1024, quota: 50000, period: 100000, burst: 1000, idle: 0, cpus: '0-1', mems: '0' },
      pids: { limit: 0 },
      blockIO: { weight: 1000, throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 77 }] },
      hugepageLimits: [{ pageSize: '2MB', limit: 4 << 21 }],
      rdma: { mlx5_0: { hcaHandles: 2, hcaObjects: 9 } },
      unified: { 'memory.high': '123456' },
      network: { classID: 5 },
    },
  }, host);
  expect(paths).toEqual({ '': leaf });
  const all = '+cpuset +cpu +io +memory +hugetlb +pids +rdma +misc';
  expect(get(path.join(mp, 'cgroup.subtree_control'))).toBe(all);
  expect(get(path.join(mp, 'k8s/cgroup.subtree_control'))).toBe(all);
  expect(get(path.join(mp, 'k8s/pod1/cgroup.subtree_control'))).toBe(all);
  expect(get(path.join(leaf, 'cgroup.subtree_control'))).toBe(''); // not the leaf
  const f = (n: string) => get(path.join(leaf, n));
  expect(f('memory.max')).toBe(String(1 << 20));
  expect(f('memory.swap.max')).toBe(String(2 << 20)); // swap − limit
  expect(f('memory.low')).toBe(String(1 << 19));
  expect(f('cpu.weight')).toBe('100');
  expect(f('cpu.max')).toBe('50000 100000');
  expect(f('cpu.max.burst')).toBe('1000');
  expect(f('cpu.idle')).toBe('0');
  expect(f('cpuset.cpus')).toBe('0-1');
  expect(f('pids.max')).toBe('1');
  expect(f('io.weight')).toBe('10000');
  expect(f('io.max')).toBe('8:0 wiops=77');
  expect(f('hugetlb.2MB.max')).toBe(String(4 << 21));
  expect(f('rdma.max')).toBe('mlx5_0 hca_handle=2 hca_object=9');
  expect(f('memory.high')).toBe('123456');
});

test('create: quota only → "max period" default; update writes v2 files', () => {
  const leaf = path.join(mp, 'c1');
  fakeLeaf(leaf);
  const paths = createCgroups({ id: 'c1', cgroupsPath: '/c1', systemd: false, rootless: false, resources: { cpu: { quota: -1 }, memory: { limit: -1 } } }, host);
  expect(get(path.join(leaf, 'cpu.max'))).toBe('max 100000');
  expect(get(path.join(leaf, 'memory.max'))).toBe('max');
  expect(get(path.join(leaf, 'memory.swap.max'))).toBe('max');
  updateCgroups(paths, { pids: { limit: -1 }, cpu: { shares: 2 }, memory: { limit: 500, checkBeforeUpdate: false } });
  expect(get(path.join(leaf, 'pids.max'))).toBe('max');
  expect(get(path.join(leaf, 'cpu.weight'))).toBe('1');
  expect(get(path.join(leaf, 'memory.max'))).toBe('500');
  expect(() => updateCgroups(paths, { memory: { limit: 500, checkBeforeUpdate: true } })).toThrow(/below current usage 1000/);
});

test('failure removes only the directories it created, with the file and errno in the message', () => {
  fs.mkdirSync(path.join(mp, 'existing'));
  // new leaf: no kernel files in a plain directory, so the first write fails with ENOENT
  expect(() =>
    createCgroups({ id: 'x', cgroupsPath: '/existing/new/leaf', systemd: false, rootless: false, resources: { pids: { limit: 5 } } }, host),
  ).toThrow(`cgroup: write ${mp}/existing/new/leaf/pids.max: no such file or directory (ENOENT)`);
  expect(fs.existsSync(path.join(mp, 'existing/new'))).toBe(false);
  expect(fs.existsSync(path.join(mp, 'existing'))).toBe(true);
});

test('unified keys: unknown controller and bad names are refused', () => {
  fakeLeaf(path.join(mp, 'u'));
  expect(() => createCgroups({ id: 'u', cgroupsPath: '/u', systemd: false, rootless: false, resources: { unified: { 'foo.bar': '1' } } }, host))
    .toThrow(/unified resource "foo.bar" can't be set: controller "foo" not available/);
  expect(() => createCgroups({ id: 'u', cgroupsPath: '/u', systemd: false, rootless: false, resources: { unified: { '../x': '1' } } }, host))
    .toThrow(/not a valid cgroup v2 file name/);
});

describe('device rules: an eBPF program per cgroup', () => {
  const defaults = DEFAULT_DEVICE_RULES.map((r) => ({ allow: r.allow, type: r.type, major: r.major, minor: r.minor, access: r.access }));

  test('create attaches spec rules then runc\'s defaults (what v1 writes), without resources too', () => {
    fakeLeaf(path.join(mp, 'd'));
    createCgroups({ id: 'd', cgroupsPath: '/d', systemd: false, rootless: false, resources: { devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'b', major: 8, minor: 0, access: 'r' }] } }, host);
    expect(attached).toEqual([{
      dir: path.join(mp, 'd'),
      rules: [{ allow: false, type: 'a', major: -1, minor: -1, access: 'rwm' }, { allow: true, type: 'b', major: 8, minor: 0, access: 'r' }, ...defaults],
    }]);
    fakeLeaf(path.join(mp, 'e'));
    createCgroups({ id: 'e', cgroupsPath: '/e', systemd: false, rootless: false }, host);
    expect(attached[1]).toEqual({ dir: path.join(mp, 'e'), rules: defaults });
  });

  test('update replaces the program only when the request lists device rules', () => {
    fakeLeaf(path.join(mp, 'u'));
    const paths = createCgroups({ id: 'u', cgroupsPath: '/u', systemd: false, rootless: false, resources: {} }, host);
    updateCgroups(paths, { pids: { limit: 3 } });
    expect(attached).toHaveLength(1);
    updateCgroups(paths, { devices: [{ allow: true, type: 'c', major: 1, minor: 11, access: 'r' }] });
    expect(attached[1].rules[0]).toEqual({ allow: true, type: 'c', major: 1, minor: 11, access: 'r' });
    expect(attached[1].rules.slice(1)).toEqual(defaults);
  });

  test('a rule the filter cannot express fails before anything is created', () => {
    expect(() =>
      createCgroups({ id: 'd', cgroupsPath: '/new/d', systemd: false, rootless: false, resources: { devices: [{ allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }, { allow: true, type: 'c', major: 2 ** 32, access: 'rwx' }] } }, host),
    ).toThrow(/cgroup: invalid device rule 1: major 4294967296 cannot be expressed/);
    expect(fs.existsSync(path.join(mp, 'new'))).toBe(false);
    expect(attached).toEqual([]);
  });

  test('a failed attach fails create and removes what it made; rootless skips it', () => {
    attachError = new Error('cgroup: device filter: attach /x: bpf(BPF_PROG_ATTACH): operation not permitted (EPERM)');
    expect(() => createCgroups({ id: 'd', cgroupsPath: '/new/d', systemd: false, rootless: false }, host)).toThrow(attachError.message);
    expect(fs.existsSync(path.join(mp, 'new'))).toBe(false);
    fakeLeaf(path.join(mp, 'r'));
    expect(createCgroups({ id: 'r', cgroupsPath: '/r', systemd: false, rootless: true, resources: { pids: { limit: 4 } } }, host)).toEqual({ '': path.join(mp, 'r') });
    expect(get(path.join(mp, 'r/pids.max'))).toBe('4');
  });
});

test('freeze/thaw write cgroup.freeze and wait for cgroup.events', () => {
  const leaf = path.join(mp, 'f');
  fakeLeaf(leaf);
  const paths = { '': leaf };
  put(path.join(leaf, 'cgroup.events'), 'populated 1\nfrozen 1\n'); // what the kernel reports once frozen
  freezeCgroups(paths);
  expect(get(path.join(leaf, 'cgroup.freeze'))).toBe('1');
  expect(isFrozen(paths)).toBe(true);
  put(path.join(leaf, 'cgroup.events'), 'populated 1\nfrozen 0\n');
  thawCgroups(paths);
  expect(get(path.join(leaf, 'cgroup.freeze'))).toBe('0');
  expect(isFrozen(paths)).toBe(false);
});

test('SIGKILL uses cgroup.kill; pids come from cgroup.procs of the tree', () => {
  const leaf = path.join(mp, 'k');
  fakeLeaf(leaf);
  put(path.join(leaf, 'cgroup.procs'), '300\n12\n');
  put(path.join(leaf, 'sub/cgroup.procs'), '45\n12\n');
  expect(cgroupPids({ '': leaf })).toEqual([12, 45, 300]);
  killCgroup({ '': leaf });
  expect(get(path.join(leaf, 'cgroup.kill'))).toBe('1');
});

test('stats from v2 files, in runc shape; "max" is exact in the JSON text', () => {
  const leaf = path.join(mp, 's');
  fakeLeaf(leaf);
  put(path.join(leaf, 'cpu.stat'), 'usage_usec 100\nuser_usec 60\nsystem_usec 40\nnr_periods 3\nnr_throttled 1\nthrottled_usec 7\n');
  put(path.join(leaf, 'memory.stat'), 'anon 4096\nfile 8192\n');
  put(path.join(leaf, 'memory.max'), 'max\n');
  put(path.join(leaf, 'memory.events'), 'low 0\nhigh 0\nmax 2\noom 0\n');
  put(path.join(leaf, 'pids.current'), '3\n');
  put(path.join(leaf, 'pids.max'), 'max\n');
  put(path.join(leaf, 'io.stat'), '8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n');
  const s = cgroupStats({ '': leaf }) as any;
  expect(s.cpu.usage).toEqual({ total: 100000, kernel: 40000, user: 60000 });
  expect(s.cpu.throttling).toEqual({ periods: 3, throttledPeriods: 1, throttledTime: 7000 });
  expect(s.memory.cache).toBe(8192);
  expect(s.memory.usage).toEqual({ limit: 18446744073709551615, usage: 1000, failcnt: 2 });
  expect(s.memory.raw).toEqual({ anon: 4096, file: 8192 });
  expect(s.pids).toEqual({ current: 3 });
  expect(s.blkio.ioServiceBytesRecursive).toEqual([{ major: 8, op: 'Read', value: 10 }, { major: 8, op: 'Write', value: 20 }]);
  expect(cgroupStatsJSON({ '': leaf })).toContain('"usage":{"limit":18446744073709551615,');
});

describe('planCgroupMounts', () => {
  const fx = (n: string) => fs.readFileSync(path.join(__dirname, '../fixtures/cgroupfs', n), 'utf8');
  const hybrid = () => detectCgroupHost({ mountinfo: fx('mountinfo-hybrid.txt'), procSelfCgroup: fx('proc-cgroup-hybrid.txt'), systemdRunning: false });
  const opts = ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'];
  const roFlags = MS_NOSUID | MS_NOEXEC | MS_NODEV | 0x200000 | MS_RDONLY;
  const v1paths = () => {
    const p: Record<string, string> = {};
    for (const h of hybrid().v1) for (const c of h.controllers) p[c] = `${h.mountPoint}/libpod_parent/libpod-1`;
    p[''] = '/sys/fs/cgroup/unified/libpod_parent/libpod-1';
    return p;
  };

  test('v1 without cgroupns: tmpfs, a ro bind per hierarchy, symlinks for combined ones', () => {
    const { mounts, symlinks } = planCgroupMounts('/sys/fs/cgroup/', opts, v1paths(), false, hybrid());
    expect(mounts[0]).toEqual({ source: 'tmpfs', destination: '/sys/fs/cgroup', type: 'tmpfs', flags: MS_NOEXEC | MS_NOSUID | MS_NODEV, data: 'mode=755', remountFlags: 0, propagationFlags: [], createAs: 'dir' });
    expect(mounts.slice(1).map((m) => m.destination)).toEqual(
      ['cpu,cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'systemd'].map((n) => `/sys/fs/cgroup/${n}`),
    );
    const cpu = mounts[1];
    expect(cpu).toEqual({ source: '/sys/fs/cgroup/cpu,cpuacct/libpod_parent/libpod-1', destination: '/sys/fs/cgroup/cpu,cpuacct', type: 'bind', flags: MS_BIND | MS_REC, data: '', remountFlags: roFlags, propagationFlags: [], createAs: 'dir' });
    expect(symlinks).toEqual([{ target: 'cpu,cpuacct', path: '/sys/fs/cgroup/cpu' }, { target: 'cpu,cpuacct', path: '/sys/fs/cgroup/cpuacct' }]);
  });

  test('v1 with cgroupns: cgroup mounts by controller, ro kept', () => {
    const { mounts } = planCgroupMounts('/sys/fs/cgroup', opts, v1paths(), true, hybrid());
    const sd = mounts.find((m) => m.destination === '/sys/fs/cgroup/systemd')!;
    expect(sd).toMatchObject({ source: 'cgroup', type: 'cgroup', data: 'name=systemd', flags: MS_NOEXEC | MS_NOSUID | MS_NODEV | MS_RDONLY });
    expect(mounts.find((m) => m.destination === '/sys/fs/cgroup/cpu,cpuacct')!.data).toBe('cpu,cpuacct');
  });

  test('only hierarchies the container has a directory in are mounted', () => {
    const { mounts } = planCgroupMounts('/sys/fs/cgroup', opts, { memory: '/sys/fs/cgroup/memory/x' }, false, hybrid());
    expect(mounts.map((m) => m.destination)).toEqual(['/sys/fs/cgroup', '/sys/fs/cgroup/memory']);
  });

  test('v2: cgroup2 mount with a cgroup namespace, else a bind of the container directory', () => {
    const leaf = path.join(mp, 'c');
    const withNs = planCgroupMounts('/sys/fs/cgroup', opts, { '': leaf }, true, host);
    expect(withNs).toEqual({ mounts: [{ source: 'cgroup', destination: '/sys/fs/cgroup', type: 'cgroup2', flags: roFlags, data: '', remountFlags: 0, propagationFlags: [], createAs: 'dir' }], symlinks: [] });
    const noNs = planCgroupMounts('/sys/fs/cgroup', [...opts, 'rslave'], { '': leaf }, false, host);
    expect(noNs.mounts).toEqual([{ source: leaf, destination: '/sys/fs/cgroup', type: 'bind', flags: MS_BIND | MS_REC, data: '', remountFlags: roFlags, propagationFlags: [0x80000 | MS_REC], createAs: 'dir' }]);
  });
});
