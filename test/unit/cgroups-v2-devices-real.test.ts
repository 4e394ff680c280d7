/**
 * The cgroup v2 device filter in the real kernel: this host has a cgroup2 hierarchy at
 * /sys/fs/cgroup/unified (no controllers; device programs need none) beside the v1 ones.
 * A child shell is moved into a test cgroup and opens device nodes; its v1 devices cgroup
 * (the root) allows everything, so a denial can only come from the eBPF program.
 * Each test's cgroup is removed in afterEach, even when the test failed.
 */
import { spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { createCgroups, detectCgroupHost, removeCgroups, updateCgroups, CgroupHost } from '../../src/cgroups';
import { attachDeviceFilter, deviceFilterIds, DeviceFilterRule } from '../../src/cgroups/devices-v2';

const real = detectCgroupHost();
const mp = real.unified?.mountPoint;
function bpfWorks(): boolean {
  try {
    deviceFilterIds(mp!);
    return true;
  } catch {
    return false;
  }
}
const runnable = process.getuid?.() === 0 && !!mp && bpfWorks();
const d = runnable ? describe : describe.skip;

/** The v2 driver pointed at the real cgroup2 mount (this hybrid host's own mode is v1). */
const v2Host = (): CgroupHost =>
  real.mode === 'v2' ? real : detectCgroupHost({ mountinfo: `41 31 0:38 / ${mp} rw,relatime - cgroup2 cgroup2 rw\n`, procSelfCgroup: '0::/\n', systemdRunning: false });

const rule = (allow: boolean, type: 'a' | 'b' | 'c', major: number, minor: number, access = 'rwm'): DeviceFilterRule => ({ allow, type, major, minor, access });

d('cgroup v2 device filter (eBPF) on the real kernel', () => {
  let name: string;
  let dir: string;
  const children: ChildProcess[] = [];

  beforeEach(() => {
    name = `tsoci-test-devbpf-${Math.random().toString(36).slice(2, 10)}`;
    dir = path.join(mp!, name);
  });

  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGKILL');
        await new Promise((r) => c.once('close', r));
      }
    }
    removeCgroups({ '': dir });
    expect(fs.existsSync(dir)).toBe(false);
  });

  /**
   * Opens each node from a shell moved into the cgroup first; "<mode> <path> ok|denied" per
   * node, and the shell's complaints (stderr).
   */
  async function opens(cgroup: string, checks: [string, 'r' | 'w'][]): Promise<{ results: string[]; stderr: string }> {
    const script = checks.map(([p, m]) => `if true ${m === 'r' ? '<' : '>'} ${p}; then echo "${m} ${p} ok"; else echo "${m} ${p} denied"; fi`).join('\n');
    const c = spawn('/bin/sh', ['-c', `read go\n${script}`], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(c);
    let out = '';
    let stderr = '';
    c.stdout!.on('data', (b) => (out += b));
    c.stderr!.on('data', (b) => (stderr += b));
    const closed = new Promise((r) => c.once('close', r));
    fs.writeFileSync(path.join(cgroup, 'cgroup.procs'), String(c.pid));
    c.stdin!.end('go\n');
    await closed;
    return { results: out.trim().split('\n'), stderr };
  }

  test('deny all + allow c 1:3 rwm: /dev/null opens, /dev/zero gets EPERM', async () => {
    fs.mkdirSync(dir);
    const { progId, replaced } = attachDeviceFilter(dir, [rule(false, 'a', -1, -1), rule(true, 'c', 1, 3)]);
    expect(progId).toBeGreaterThan(0);
    expect(replaced).toEqual([]);
    expect(deviceFilterIds(dir)).toEqual([progId]);
    const { results, stderr } = await opens(dir, [['/dev/null', 'w'], ['/dev/null', 'r'], ['/dev/zero', 'r'], ['/dev/full', 'w']]);
    expect(results).toEqual(['w /dev/null ok', 'r /dev/null ok', 'r /dev/zero denied', 'w /dev/full denied']);
    expect(stderr).toMatch(/\/dev\/zero: Operation not permitted/);
    // the same shell outside the cgroup: the v1 devices cgroup allows /dev/zero
    const outside = spawn('/bin/sh', ['-c', 'true < /dev/zero && echo ok'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let o = '';
    outside.stdout!.on('data', (b) => (o += b));
    await new Promise((r) => outside.once('close', r));
    expect(o.trim()).toBe('ok');
  });

  test('update attaches the new program and detaches the old one: one program, new rules', async () => {
    fs.mkdirSync(dir);
    const first = attachDeviceFilter(dir, [rule(true, 'c', 1, 3)]);
    const second = attachDeviceFilter(dir, [rule(true, 'c', 1, 3), rule(true, 'c', 1, 5, 'r')]);
    expect(second.replaced).toEqual([first.progId]);
    expect(second.progId).not.toBe(first.progId);
    expect(deviceFilterIds(dir)).toEqual([second.progId]);
    const { results } = await opens(dir, [['/dev/zero', 'r'], ['/dev/zero', 'w'], ['/dev/null', 'w']]);
    expect(results).toEqual(['r /dev/zero ok', 'w /dev/zero denied', 'w /dev/null ok']);
  });

  test('v2 driver: create attaches runc\'s defaults plus the spec rules, update replaces them, delete removes the cgroup', async () => {
    const host = v2Host();
    const paths = createCgroups({ id: name, cgroupsPath: `/${name}`, systemd: false, rootless: false, resources: { devices: [{ allow: false, access: 'rwm' }] } }, host);
    expect(paths).toEqual({ '': dir });
    const [id1] = deviceFilterIds(dir);
    expect(deviceFilterIds(dir)).toHaveLength(1);
    let r = await opens(dir, [['/dev/null', 'w'], ['/dev/zero', 'r'], ['/dev/kmsg', 'r']]);
    expect(r.results).toEqual(['w /dev/null ok', 'r /dev/zero ok', 'r /dev/kmsg denied']);
    updateCgroups(paths, {}); // no devices in the request: the program stays
    expect(deviceFilterIds(dir)).toEqual([id1]);
    updateCgroups(paths, { devices: [{ allow: true, type: 'c', major: 1, minor: 11, access: 'r' }] });
    const ids = deviceFilterIds(dir);
    expect(ids).toHaveLength(1);
    expect(ids[0]).not.toBe(id1);
    r = await opens(dir, [['/dev/kmsg', 'r'], ['/dev/kmsg', 'w'], ['/dev/null', 'w']]);
    expect(r.results).toEqual(['r /dev/kmsg ok', 'w /dev/kmsg denied', 'w /dev/null ok']);
    removeCgroups(paths);
    expect(fs.existsSync(dir)).toBe(false);
  });

  test('failures name the step and the path; create leaves nothing behind', () => {
    expect(() => attachDeviceFilter('/tmp', [])).toThrow('cgroup: device filter: query /tmp: bpf(BPF_PROG_QUERY): bad file descriptor (EBADF)');
    expect(() => attachDeviceFilter(dir, [])).toThrow(`cgroup: device filter: open ${dir}: open: no such file or directory (ENOENT)`);
    expect(() => createCgroups({ id: name, cgroupsPath: `/${name}/leaf`, systemd: false, rootless: false, resources: { devices: [{ allow: true, type: 'c', major: 2 ** 40 }] } }, v2Host()))
      .toThrow(/invalid device rule 0: major 1099511627776 cannot be expressed/);
    expect(fs.existsSync(dir)).toBe(false);
  });
});
