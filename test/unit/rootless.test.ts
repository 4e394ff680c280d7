/**
 * Rootless: runc's detection rules (--rootless auto|true|false, the default root), and the
 * cgroup rules on the fake cgroup v2 tree of cgroups-v2-fake.test.ts: a hierarchy the user
 * may not write (here a read-only bind mount of the tree: EROFS, which runc also counts as a
 * permission error) is skipped unless limits were asked; a delegated subtree (writable)
 * gets the container's cgroup and its limits. The real kernel, as an unprivileged user:
 * test/e2e/rootless.test.ts.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createCgroups, detectCgroupHost, CgroupHost } from '../../src/cgroups';
import { setDeviceFilterBackend } from '../../src/cgroups/devices-v2';
import { defaultRootFor, honoursXdgRuntimeDir, inUserNamespace, isHostRoot, parseRootlessFlag, resolveRootless } from '../../src/rootless/detect';

const INITIAL = '         0          0 4294967295\n';
const PODMAN_NS = '         0       1001          1\n         1     100000      65536\n';

describe('detection', () => {
  test('--rootless values: runc\'s parseBoolOrAuto', () => {
    expect(parseRootlessFlag(undefined)).toBe('auto');
    expect(parseRootlessFlag('')).toBe('auto');
    expect(parseRootlessFlag('auto')).toBe('auto');
    expect(parseRootlessFlag('true')).toBe('true');
    expect(parseRootlessFlag('1')).toBe('true');
    expect(parseRootlessFlag('FALSE')).toBe('false');
    expect(() => parseRootlessFlag('maybe')).toThrow('invalid --rootless value "maybe": want true, false or auto');
  });

  test('auto: rootless for euid != 0 and for root in a user namespace not mapping the host\'s root', () => {
    expect(resolveRootless('auto', { euid: 0, uidMap: INITIAL })).toBe(false);
    expect(resolveRootless('auto', { euid: 1001, uidMap: INITIAL })).toBe(true);
    expect(resolveRootless('auto', { euid: 0, uidMap: PODMAN_NS })).toBe(true);
    expect(resolveRootless('auto', { euid: 0, uidMap: '0 0 65536\n' })).toBe(false);
    expect(resolveRootless('false', { euid: 1001, uidMap: INITIAL })).toBe(false);
    expect(resolveRootless('true', { euid: 0, uidMap: INITIAL })).toBe(true);
    expect(inUserNamespace({ euid: 0, uidMap: PODMAN_NS })).toBe(true);
    expect(inUserNamespace({ euid: 0, uidMap: INITIAL })).toBe(false);
    expect(isHostRoot({ euid: 0, uidMap: undefined })).toBe(true);
  });

  test('default root: XDG for the user and for rootless podman; /run/tsoci for root, rootful conmon (XDG="") and USER=root', () => {
    const user = { euid: 1001, uidMap: INITIAL };
    const podman = { euid: 0, uidMap: PODMAN_NS };
    const root = { euid: 0, uidMap: INITIAL };
    expect(defaultRootFor(user, { XDG_RUNTIME_DIR: '/run/user/1001' })).toEqual({ root: '/run/user/1001/tsoci', xdg: true });
    expect(defaultRootFor(user, {})).toEqual({ root: '/run/tsoci', xdg: false });
    expect(defaultRootFor(podman, { XDG_RUNTIME_DIR: '/run/user/1001/', USER: 'me' })).toEqual({ root: '/run/user/1001/tsoci', xdg: true });
    expect(defaultRootFor(podman, { XDG_RUNTIME_DIR: '/run/user/1001', USER: 'root' }).root).toBe('/run/tsoci');
    expect(defaultRootFor(root, { XDG_RUNTIME_DIR: '/run/user/0' }).root).toBe('/run/tsoci');
    expect(defaultRootFor(root, { XDG_RUNTIME_DIR: '' }).root).toBe('/run/tsoci');
    expect(honoursXdgRuntimeDir(podman, {})).toBe(true);
  });
});

describe('cgroups v2 (fake tree)', () => {
  let tmp: string;
  let mp: string;
  let ro: string;
  const hostAt = (mountPoint: string): CgroupHost =>
    detectCgroupHost({ mountinfo: `30 1 0:26 / ${mountPoint} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n`, procSelfCgroup: '0::/user.slice/me.scope\n', systemdRunning: false });
  const put = (p: string, content = '') => {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
  };

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-cgv2-rootless-'));
    mp = path.join(tmp, 'cgroup');
    ro = path.join(tmp, 'ro');
    put(path.join(mp, 'cgroup.controllers'), 'cpu memory pids\n');
    put(path.join(mp, 'cgroup.subtree_control'));
    put(path.join(mp, 'user.slice/cgroup.subtree_control'));
    fs.mkdirSync(ro);
    // what an unprivileged user meets above its delegated subtree: nothing it may create
    expect(spawnSync('mount', ['--bind', mp, ro]).status).toBe(0);
    expect(spawnSync('mount', ['-o', 'remount,bind,ro', ro]).status).toBe(0);
    setDeviceFilterBackend({ apply() { throw Object.assign(new Error('bpf: operation not permitted'), { code: 'EPERM' }); } });
  });
  afterEach(() => {
    setDeviceFilterBackend();
    spawnSync('umount', [ro]);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('no delegation, no limits: the container runs without a cgroup', () => {
    expect(createCgroups({ id: 'rl', systemd: false, rootless: true }, hostAt(ro))).toEqual({});
    expect(fs.existsSync(path.join(mp, 'user.slice/rl'))).toBe(false);
  });

  test('no delegation, limits asked: one error naming them and why', () => {
    expect(() => createCgroups({ id: 'rl', systemd: false, rootless: true, resources: { pids: { limit: 10 }, memory: { limit: 1 << 20 } } }, hostAt(ro)))
      .toThrow(/^cgroup: cannot set pids, memory: rootless container could not join or create its cgroup \(mkdir .*\/ro\/user.slice\/rl: read-only file system \(EROFS\)\)/);
  });

  test('an explicit cgroupsPath is never skipped; rootful is never skipped', () => {
    expect(() => createCgroups({ id: 'rl', cgroupsPath: 'rl', systemd: false, rootless: true }, hostAt(ro))).toThrow(/EROFS/);
    expect(() => createCgroups({ id: 'rl', systemd: false, rootless: false }, hostAt(ro))).toThrow(/EROFS/);
  });

  test('a delegated subtree: the cgroup is made there and the limits applied; device rules skipped', () => {
    const leaf = path.join(mp, 'user.slice/rl');
    for (const f of ['pids.max', 'memory.max', 'memory.swap.max', 'cgroup.procs']) put(path.join(leaf, f));
    const paths = createCgroups({ id: 'rl', systemd: false, rootless: true, resources: { pids: { limit: 10 }, memory: { limit: 1 << 20 }, devices: [{ allow: false, access: 'rwm' }] } }, hostAt(mp));
    expect(paths).toEqual({ '': leaf });
    expect(fs.readFileSync(path.join(leaf, 'pids.max'), 'utf8')).toBe('10');
    expect(fs.readFileSync(path.join(leaf, 'memory.max'), 'utf8')).toBe(String(1 << 20));
  });

  test('a delegated subtree without the controller: the limit fails naming the file', () => {
    const leaf = path.join(mp, 'user.slice/rl');
    put(path.join(leaf, 'cgroup.procs'));
    expect(() => createCgroups({ id: 'rl', systemd: false, rootless: true, resources: { pids: { limit: 10 } } }, hostAt(mp))).toThrow(/pids\.max/);
  });
});
