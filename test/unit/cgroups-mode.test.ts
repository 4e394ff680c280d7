/**
 * Cgroup host detection and cgroupsPath rules from sample /proc/self/mountinfo and
 * /proc/self/cgroup texts (fixtures in test/fixtures/cgroupfs): v1, hybrid, pure v2.
 * Pure text: these hosts are hybrid, so v1-only and v2 layouts can only be tested this way.
 */
import * as fs from 'fs';
import * as path from 'path';
import { detectCgroupHost, parseMountinfo, parseProcCgroup, ownCgroupDir } from '../../src/cgroups/mode';
import { cgroupfsPaths, cleanCgroupPath, expandSlice, parseSystemdCgroupsPath, systemdPaths } from '../../src/cgroups/paths';
import { createCgroups } from '../../src/cgroups';
import { TsociError } from '../../src/util/errors';

const fx = (n: string) => fs.readFileSync(path.join(__dirname, '../fixtures/cgroupfs', n), 'utf8');
const hybrid = () => detectCgroupHost({ mountinfo: fx('mountinfo-hybrid.txt'), procSelfCgroup: fx('proc-cgroup-hybrid.txt'), systemdRunning: false });
const v1 = () => detectCgroupHost({ mountinfo: fx('mountinfo-v1.txt'), procSelfCgroup: '1:cpu:/\n2:memory:/a\n', systemdRunning: false });
const v2 = () => detectCgroupHost({ mountinfo: fx('mountinfo-v2.txt'), procSelfCgroup: fx('proc-cgroup-v2.txt'), systemdRunning: true });

describe('mountinfo / proc cgroup parsing', () => {
  test('mountinfo fields, optional fields and octal escapes', () => {
    const m = parseMountinfo('32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:10 master:2 - cgroup cgroup rw,cpu,cpuacct\n' +
      '50 22 0:40 /sub /mnt/with\\040space rw - cgroup2 none rw\n');
    expect(m).toEqual([
      { root: '/', mountPoint: '/sys/fs/cgroup/cpu,cpuacct', fstype: 'cgroup', source: 'cgroup', superOptions: ['rw', 'cpu', 'cpuacct'] },
      { root: '/sub', mountPoint: '/mnt/with space', fstype: 'cgroup2', source: 'none', superOptions: ['rw'] },
    ]);
  });
  test('/proc/self/cgroup', () => {
    expect(parseProcCgroup('2:cpu,cpuacct:/a\n1:name=systemd:/b\n0::/c\n')).toEqual([
      { controllers: ['cpu', 'cpuacct'], path: '/a' },
      { controllers: ['name=systemd'], path: '/b' },
      { controllers: [], path: '/c' },
    ]);
  });
});

describe('mode detection', () => {
  test('hybrid: v1 controllers plus cgroup2 at /sys/fs/cgroup/unified', () => {
    const h = hybrid();
    expect(h.mode).toBe('hybrid');
    expect(h.unified).toEqual({ mountPoint: '/sys/fs/cgroup/unified', root: '/', ownPath: '/user.slice/session-1.scope' });
    expect(h.v1.map((x) => x.controllers.join(','))).toEqual(['cpu,cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'name=systemd']);
    expect(h.v1.find((x) => x.controllers.includes('cpuacct'))!.ownPath).toBe('/user.slice');
    expect(h.v1.find((x) => x.controllers.includes('name=systemd'))!.ownPath).toBe('/user.slice/session-1.scope');
  });
  test('v1 only', () => {
    const h = v1();
    expect(h.mode).toBe('v1');
    expect(h.unified).toBeUndefined();
    expect(h.v1.map((x) => x.mountPoint)).toContain('/sys/fs/cgroup/cpuacct');
  });
  test('pure v2', () => {
    const h = v2();
    expect(h.mode).toBe('v2');
    expect(h.v1).toEqual([]);
    expect(h.unified!.mountPoint).toBe('/sys/fs/cgroup');
  });
  test('only a named v1 hierarchy and cgroup2 → v2', () => {
    const h = detectCgroupHost({
      mountinfo: '1 0 0:1 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n2 0 0:2 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n',
      procSelfCgroup: '', systemdRunning: false,
    });
    expect(h.mode).toBe('v2');
  });
  test('nothing mounted → none', () => {
    expect(detectCgroupHost({ mountinfo: fx('mountinfo-v2.txt').split('\n')[0], procSelfCgroup: '', systemdRunning: false }).mode).toBe('none');
  });
  test('this host is detected (hybrid on these machines)', () => {
    const h = detectCgroupHost();
    expect(['v1', 'hybrid', 'v2']).toContain(h.mode);
  });
  test('own cgroup dir honours the mount root', () => {
    expect(ownCgroupDir({ mountPoint: '/sys/fs/cgroup/memory', root: '/', ownPath: '/a/b' })).toBe('/sys/fs/cgroup/memory/a/b');
    expect(ownCgroupDir({ mountPoint: '/sys/fs/cgroup/memory', root: '/a', ownPath: '/a/b' })).toBe('/sys/fs/cgroup/memory/b');
    expect(ownCgroupDir({ mountPoint: '/m', root: '/x', ownPath: '/a' })).toBe('/m');
  });
});

describe('cgroupfs paths (runc rules)', () => {
  test('clean path', () => {
    expect(cleanCgroupPath('/a/../../b/')).toBe('/b');
    expect(cleanCgroupPath('a/../../b')).toBe('b');
    expect(cleanCgroupPath('../../etc')).toBe('etc');
    expect(cleanCgroupPath('')).toBe('');
  });
  test('absolute: under each hierarchy mount point, combined controllers share a dir, unified too', () => {
    const p = cgroupfsPaths(hybrid(), '/libpod_parent/libpod-abc', 'abc');
    expect(p.memory).toBe('/sys/fs/cgroup/memory/libpod_parent/libpod-abc');
    expect(p.cpu).toBe('/sys/fs/cgroup/cpu,cpuacct/libpod_parent/libpod-abc');
    expect(p.cpuacct).toBe(p.cpu);
    expect(p['name=systemd']).toBe('/sys/fs/cgroup/systemd/libpod_parent/libpod-abc');
    expect(p['']).toBe('/sys/fs/cgroup/unified/libpod_parent/libpod-abc');
    expect(Object.keys(p).sort()).toEqual(['', 'blkio', 'cpu', 'cpuacct', 'cpuset', 'devices', 'freezer', 'memory', 'name=systemd', 'pids']);
  });
  test('relative: under this process own cgroup of each hierarchy', () => {
    const p = cgroupfsPaths(hybrid(), 'foo/bar', 'x');
    expect(p.memory).toBe('/sys/fs/cgroup/memory/user.slice/session-1.scope/foo/bar');
    expect(p.cpu).toBe('/sys/fs/cgroup/cpu,cpuacct/user.slice/foo/bar');
    expect(p.freezer).toBe('/sys/fs/cgroup/freezer/foo/bar');
    expect(p['']).toBe('/sys/fs/cgroup/unified/user.slice/session-1.scope/foo/bar');
  });
  test('missing: the id, relative (runc default)', () => {
    expect(cgroupfsPaths(hybrid(), undefined, 'c1').pids).toBe('/sys/fs/cgroup/pids/user.slice/c1');
    expect(cgroupfsPaths(hybrid(), '', 'c1').blkio).toBe('/sys/fs/cgroup/blkio/c1');
  });
  test('v2: absolute under the mount, relative under the parent of our own cgroup', () => {
    expect(cgroupfsPaths(v2(), '/k8s/pod1', 'x')).toEqual({ '': '/sys/fs/cgroup/k8s/pod1' });
    expect(cgroupfsPaths(v2(), undefined, 'c1')).toEqual({ '': '/sys/fs/cgroup/user.slice/user-1000.slice/c1' });
  });
  test('the root cgroup is refused', () => {
    expect(() => cgroupfsPaths(hybrid(), '/', 'x')).toThrow(TsociError);
  });
});

describe('systemd driver paths', () => {
  test('slice expansion', () => {
    expect(expandSlice('system.slice')).toBe('/system.slice');
    expect(expandSlice('a-b-c.slice')).toBe('/a.slice/a-b.slice/a-b-c.slice');
    expect(expandSlice('-.slice')).toBe('/');
    for (const bad of ['foo', 'a--b.slice', '-a.slice', 'a/b.slice', '.slic']) expect(() => expandSlice(bad)).toThrow(/invalid slice name/);
  });
  test('slice:prefix:name', () => {
    expect(parseSystemdCgroupsPath('machine.slice:libpod:abc', 'abc')).toEqual({ slice: 'machine.slice', unit: 'libpod-abc.scope', slicePath: '/machine.slice' });
    expect(parseSystemdCgroupsPath(':docker:abc', 'abc').slicePath).toBe('/system.slice');
    expect(parseSystemdCgroupsPath('kubepods-besteffort.slice::pod1.slice', 'x').unit).toBe('pod1.slice');
    expect(parseSystemdCgroupsPath('user.slice::abc', 'x').unit).toBe('abc.scope');
    expect(parseSystemdCgroupsPath(undefined, 'c9')).toEqual({ slice: 'system.slice', unit: 'tsoci-c9.scope', slicePath: '/system.slice' });
    expect(() => parseSystemdCgroupsPath('/abs/path', 'x')).toThrow(/slice:prefix:name/);
  });
  test('directories on hybrid and v2 hosts (not relative to our own cgroup)', () => {
    const p = systemdPaths(hybrid(), 'kubepods-burstable.slice:cri-containerd:abc', 'abc');
    expect(p.memory).toBe('/sys/fs/cgroup/memory/kubepods.slice/kubepods-burstable.slice/cri-containerd-abc.scope');
    expect(p['']).toBe('/sys/fs/cgroup/unified/kubepods.slice/kubepods-burstable.slice/cri-containerd-abc.scope');
    expect(systemdPaths(v2(), 'machine.slice:libpod:abc', 'abc')).toEqual({ '': '/sys/fs/cgroup/machine.slice/libpod-abc.scope' });
  });
  test('createCgroups with systemd:true fails clearly when systemd is not running', () => {
    const saved = process.env.TSOCI_SYSTEMD_ASSUME_RUNNING;
    delete process.env.TSOCI_SYSTEMD_ASSUME_RUNNING;
    try {
      expect(() => createCgroups({ id: 'x', systemd: true, rootless: false }, hybrid())).toThrow(
        'systemd cgroup driver: systemd is not running (no /run/systemd/system)',
      );
    } finally {
      if (saved !== undefined) process.env.TSOCI_SYSTEMD_ASSUME_RUNNING = saved;
    }
  });
  test('createCgroups with systemd:true only checks and computes the directories (the scope comes at enterCgroups)', () => {
    expect(() => createCgroups({ id: 'x', cgroupsPath: 'bad', systemd: true, rootless: false }, v2())).toThrow(/slice:prefix:name/);
    const p = createCgroups({ id: 'x', cgroupsPath: 'machine.slice:tsoci-unit-test:x', systemd: true, rootless: false }, v2());
    expect(p).toEqual({ '': '/sys/fs/cgroup/machine.slice/tsoci-unit-test-x.scope' });
    expect(fs.existsSync(p[''])).toBe(false);
    expect(() => createCgroups({ id: 'x', systemd: true, rootless: true }, v2())).toThrow(/rootless/);
    const hybridRunning = { ...hybrid(), systemdRunning: true };
    expect(() => createCgroups({ id: 'x', systemd: true, rootless: false, resources: { unified: { 'pids.max': '5' } } }, hybridRunning)).toThrow(/cannot use unified on cgroup v1/);
  });
});
