/**
 * The cgroup v1 driver against the real cgroupfs of this host (root, hybrid v1 + cgroup2 at
 * /sys/fs/cgroup/unified). Each test uses its own /tsoci-test-<random> cgroup and removes it
 * in afterEach even when the test failed.
 */
import { spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import {
  createCgroups, joinCgroups, cgroupPids, killCgroup, removeCgroups, freezeCgroups, thawCgroups, isFrozen, updateCgroups,
  cgroupStats, cgroupStatsJSON, detectCgroupHost, CgroupPaths, planCgroupMounts,
} from '../../src/cgroups';
import { TsociError } from '../../src/util/errors';

const host = detectCgroupHost();
const runnable = process.getuid?.() === 0 && (host.mode === 'v1' || host.mode === 'hybrid');
const d = runnable ? describe : describe.skip;

const read = (dir: string, file: string) => fs.readFileSync(path.join(dir, file), 'utf8').trim();
const MiB = 1024 * 1024;

d('cgroup v1 driver on the real host', () => {
  let name: string;
  let paths: CgroupPaths | undefined;
  const children: ChildProcess[] = [];

  beforeEach(() => {
    name = `/tsoci-test-${Math.random().toString(36).slice(2, 10)}`;
    paths = undefined;
  });

  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGKILL');
        await new Promise((r) => c.once('exit', r));
      }
    }
    const all: CgroupPaths = {};
    for (const h of host.v1) all[h.controllers[0]] = path.join(h.mountPoint, name);
    if (host.unified) all[''] = path.join(host.unified.mountPoint, name);
    try {
      if (paths) thawCgroups(paths);
    } catch {
      /* ignore */
    }
    removeCgroups(all);
    for (const dir of Object.values(all)) expect(fs.existsSync(dir)).toBe(false);
  });

  const sleeper = (): ChildProcess => {
    const c = spawn('sleep', ['60'], { stdio: 'ignore' });
    children.push(c);
    return c;
  };
  const exited = (c: ChildProcess) => new Promise<string | null>((r) => (c.exitCode !== null || c.signalCode !== null ? r(c.signalCode) : c.once('exit', (_code, sig) => r(sig))));

  test('creates one directory per hierarchy plus the unified one, applies limits', () => {
    paths = createCgroups({
      id: 'x', cgroupsPath: name, systemd: false, rootless: false,
      resources: { memory: { limit: 64 * MiB, reservation: 32 * MiB, swappiness: 10 }, pids: { limit: 17 }, cpu: { shares: 512, quota: 50000, period: 100000 } },
    });
    for (const h of host.v1) expect(paths[h.controllers[0]]).toBe(path.join(h.mountPoint, name));
    if (host.mode === 'hybrid') expect(paths['']).toBe(path.join(host.unified!.mountPoint, name));
    for (const dir of new Set(Object.values(paths))) expect(fs.statSync(dir).isDirectory()).toBe(true);
    expect(read(paths.memory, 'memory.limit_in_bytes')).toBe(String(64 * MiB));
    expect(read(paths.memory, 'memory.soft_limit_in_bytes')).toBe(String(32 * MiB));
    expect(read(paths.memory, 'memory.swappiness')).toBe('10');
    expect(read(paths.pids, 'pids.max')).toBe('17');
    expect(read(paths.cpu, 'cpu.shares')).toBe('512');
    expect(read(paths.cpu, 'cpu.cfs_quota_us')).toBe('50000');
    expect(read(paths.cpu, 'cpu.cfs_period_us')).toBe('100000');
    // a new cpuset got its parent's cpus/mems, so processes can join it
    expect(read(paths.cpuset, 'cpuset.cpus')).toBe(read(path.dirname(paths.cpuset), 'cpuset.cpus'));
    expect(read(paths.cpuset, 'cpuset.mems')).not.toBe('');
    // devices: deny-all plus runc's defaults
    const devs = read(paths.devices, 'devices.list').split('\n');
    expect(devs).not.toContain('a *:* rwm');
    expect(devs).toEqual(expect.arrayContaining(['c 1:3 rwm', 'c 136:* rwm', 'c *:* m', 'b *:* m']));
  });

  test('spec device rules in order; cpuset values; nested path', () => {
    const nested = `${name}/inner/leaf`;
    paths = createCgroups({
      id: 'x', cgroupsPath: nested, systemd: false, rootless: false,
      // "rwa": runc ignores letters other than r, w, m (update.bats sends it); "a" alone: no rule
      resources: { devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 4, minor: 64, access: 'rw' },
        { allow: true, type: 'c', major: 4, minor: 65, access: 'rwa' }, { allow: true, type: 'c', major: 4, minor: 66, access: 'a' }], cpu: { cpus: '0', mems: '0' } },
    });
    expect(read(paths.devices, 'devices.list').split('\n')).toEqual(expect.arrayContaining(['c 4:64 rw', 'c 4:65 rw']));
    expect(read(paths.devices, 'devices.list')).not.toContain('c 4:66');
    expect(read(paths.cpuset, 'cpuset.cpus')).toBe('0');
    expect(read(path.dirname(paths.cpuset), 'cpuset.cpus')).not.toBe('');
    expect(read(paths.devices, 'devices.list').split('\n')).toContain('c 4:64 rw');
    removeCgroups(paths); // only the leaf; the parents stay for afterEach
    expect(fs.existsSync(paths.memory)).toBe(false);
    expect(fs.existsSync(path.dirname(paths.memory))).toBe(true);
    removeCgroups(Object.fromEntries(Object.entries(paths).map(([k, v]) => [k, path.dirname(v)])));
    paths = undefined;
  });

  test('a value the kernel refuses names the file and errno, and nothing is left behind', () => {
    let err: unknown;
    try {
      createCgroups({ id: 'x', cgroupsPath: name, systemd: false, rootless: false, resources: { cpu: { quota: 500 } } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TsociError);
    expect((err as Error).message).toBe(`cgroup: write ${path.join(host.v1.find((h) => h.controllers.includes('cpu'))!.mountPoint, name)}/cpu.cfs_quota_us: invalid argument (EINVAL)`);
    for (const h of host.v1) expect(fs.existsSync(path.join(h.mountPoint, name))).toBe(false);
    expect(() => createCgroups({ id: 'x', cgroupsPath: name, systemd: false, rootless: false, resources: { memory: { swappiness: 101 } } })).toThrow(/swappiness/);
    expect(() => createCgroups({ id: 'x', cgroupsPath: name, systemd: false, rootless: false, resources: { unified: { 'memory.max': '1' } } })).toThrow(/cannot use unified on cgroup v1/);
    // a page size no host has: refused whether hugetlb is a v1 hierarchy here (no such file) or not (no hierarchy)
    expect(() => createCgroups({ id: 'x', cgroupsPath: name, systemd: false, rootless: false, resources: { hugepageLimits: [{ pageSize: '3MB', limit: 0 }] } }))
      .toThrow(/hugetlb/);
    for (const h of host.v1) expect(fs.existsSync(path.join(h.mountPoint, name))).toBe(false);
  });

  test('join, pids, freeze/thaw, kill', async () => {
    paths = createCgroups({ id: 'x', cgroupsPath: name, systemd: false, rootless: false, resources: { pids: { limit: -1 } } });
    expect(read(paths.pids, 'pids.max')).toBe('max');
    const a = sleeper();
    const b = sleeper();
    joinCgroups(paths, a.pid!);
    joinCgroups(paths, b.pid!);
    expect(cgroupPids(paths)).toEqual([a.pid!, b.pid!].sort((x, y) => x - y));
    if (host.mode === 'hybrid') expect(read(paths[''], 'cgroup.procs').split('\n').map(Number)).toContain(a.pid);
    expect(isFrozen(paths)).toBe(false);
    freezeCgroups(paths);
    expect(isFrozen(paths)).toBe(true);
    expect(read(paths.freezer, 'freezer.state')).toBe('FROZEN');
    thawCgroups(paths);
    expect(isFrozen(paths)).toBe(false);
    // kill while frozen works too (freeze, signal, thaw)
    freezeCgroups(paths);
    killCgroup(paths);
    expect(await exited(a)).toBe('SIGKILL');
    expect(await exited(b)).toBe('SIGKILL');
    expect(isFrozen(paths)).toBe(false);
    expect(cgroupPids(paths)).toEqual([]);
    killCgroup(paths, 15); // empty cgroup: nothing to do, no error
    removeCgroups(paths);
    for (const dir of Object.values(paths)) expect(fs.existsSync(dir)).toBe(false);
    removeCgroups(paths); // missing is fine
  });

  test('killCgroup with SIGTERM, removeCgroups with a sub-cgroup', async () => {
    paths = createCgroups({ id: 'x', cgroupsPath: name, systemd: false, rootless: false });
    fs.mkdirSync(path.join(paths.memory, 'sub'));
    const a = sleeper();
    joinCgroups(paths, a.pid!);
    killCgroup(paths, 15);
    expect(await exited(a)).toBe('SIGTERM');
    removeCgroups(paths);
    expect(fs.existsSync(paths.memory)).toBe(false);
  });

  test('update: memory and swap grow in the right order; stats', () => {
    paths = createCgroups({ id: 'x', cgroupsPath: name, systemd: false, rootless: false, resources: { memory: { limit: 64 * MiB, swap: 128 * MiB }, pids: { limit: 100 } } });
    const hasSwap = fs.existsSync(path.join(paths.memory, 'memory.memsw.limit_in_bytes'));
    if (hasSwap) expect(read(paths.memory, 'memory.memsw.limit_in_bytes')).toBe(String(128 * MiB));
    // raising the limit above the current memsw needs memsw first
    updateCgroups(paths, { memory: { limit: 256 * MiB, swap: 512 * MiB } });
    expect(read(paths.memory, 'memory.limit_in_bytes')).toBe(String(256 * MiB));
    if (hasSwap) expect(read(paths.memory, 'memory.memsw.limit_in_bytes')).toBe(String(512 * MiB));
    // and lowering needs the limit first
    updateCgroups(paths, { memory: { limit: 32 * MiB, swap: 48 * MiB }, cpu: { shares: 256 } });
    expect(read(paths.memory, 'memory.limit_in_bytes')).toBe(String(32 * MiB));
    expect(read(paths.cpu, 'cpu.shares')).toBe('256');
    // update leaves device rules alone unless asked
    expect(read(paths.devices, 'devices.list')).not.toContain('a *:* rwm');
    const s = cgroupStats(paths) as any;
    expect(s.memory.usage.limit).toBe(32 * MiB);
    expect(s.pids).toEqual({ limit: 100 });
    expect(typeof s.cpu.usage.kernel).toBe('number');
    expect(Array.isArray(s.cpu.usage.percpu)).toBe(true);
    expect(s.memory.raw).toHaveProperty('cache');
    const j = JSON.parse(cgroupStatsJSON(paths));
    expect(j.memory.usage.limit).toBe(32 * MiB);
    // v1 "unlimited" kernel memory limit is printed exactly
    if (fs.existsSync(path.join(paths.memory, 'memory.kmem.limit_in_bytes'))) {
      expect(cgroupStatsJSON(paths)).toContain(`"kernel":{"limit":${read(paths.memory, 'memory.kmem.limit_in_bytes')}`);
    }
  });

  test('planCgroupMounts binds this container dirs', () => {
    paths = createCgroups({ id: 'x', cgroupsPath: name, systemd: false, rootless: false });
    const { mounts } = planCgroupMounts('/sys/fs/cgroup', ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'], paths, false);
    expect(mounts[0].type).toBe('tmpfs');
    expect(mounts.find((m) => m.destination === '/sys/fs/cgroup/memory')!.source).toBe(paths.memory);
    expect(mounts.some((m) => m.destination.endsWith('/unified'))).toBe(false);
  });
});
