import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBundle, makeRootfs, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { snapshot } from '../helpers/leaks';
import { leftovers } from '../helpers/host-checks';
import { deleteAll, stateOf, tsoci, uniqueId, TEST_ROOT } from '../helpers/tsoci';
import { validateConfig, validateFeatures } from '../../src/spec/validate';
import { CAPABILITY_NAMES } from '../../src/plan/capabilities';
import { MOUNT_FLAG_OPTIONS, PROPAGATION_OPTIONS, RECURSIVE_FLAG_OPTIONS } from '../../src/plan/mount-options';
import { cgroupHost } from '../../src/cgroups/mode';

// runtime-spec 1.1–1.3 extras: features, spec, annotations, ociVersion, mount extensions,
// netDevices, memoryPolicy, intelRdt. Real containers, checked from the inside.

afterEach(() => deleteAll());

const defsLinux = JSON.parse(fs.readFileSync(path.join(__dirname, '../../schemas/defs-linux.json'), 'utf8')).definitions;
const enumOf = (name: string): string[] => defsLinux[name].enum;

function runScript(script: string, edit: (spec: Record<string, any>) => void = () => undefined, prepare?: (bundle: string) => void) {
  const spec = testSpec(['sh', '-c', script]);
  edit(spec);
  const bundle = makeBundle(spec);
  fs.chmodSync(bundle, 0o755);
  try {
    prepare?.(bundle);
    return tsoci(['run', '--bundle', bundle, uniqueId('x')]);
  } finally {
    removeBundle(bundle);
  }
}

describe('tsoci features', () => {
  let f: Record<string, any>;
  beforeAll(() => {
    const r = tsoci(['features']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    f = JSON.parse(r.stdout);
  });

  test('validates against schemas/features-schema.json', () => {
    expect(validateFeatures(f)).toEqual([]);
  });

  test('versions, hooks, namespaces, capabilities, cgroup', () => {
    expect(f.ociVersionMin).toBe('1.0.0');
    expect(f.ociVersionMax).toBe('1.3.0');
    expect(f.hooks).toEqual(['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
    expect([...f.linux.namespaces].sort()).toEqual([...enumOf('LinuxNamespaceType')].sort());
    expect(f.linux.capabilities).toEqual([...CAPABILITY_NAMES]);
    expect(f.linux.capabilities).toHaveLength(41);
    expect(f.linux.cgroup).toEqual({ v1: true, v2: true, systemd: true, systemdUser: false, rdma: true });
  });

  test('mountOptions: every option the planner knows, nothing it does not', () => {
    const known = [...Object.keys(MOUNT_FLAG_OPTIONS), ...Object.keys(RECURSIVE_FLAG_OPTIONS), ...Object.keys(PROPAGATION_OPTIONS)];
    for (const o of known) expect(f.mountOptions).toContain(o);
    expect(f.mountOptions).toEqual(expect.arrayContaining(['idmap', 'ridmap', 'rro', 'rnosuid', 'rrw']));
    expect(f.linux.mountExtensions).toEqual({ idmap: { enabled: true } });
    expect(f.linux.netDevices).toEqual({ enabled: true });
    expect(f.linux.intelRdt).toEqual({ enabled: true, schemata: true, monitoring: true });
    expect([...f.linux.memoryPolicy.modes].sort()).toEqual([...defsLinux.LinuxMemoryPolicy.properties.mode.enum].sort());
    expect([...f.linux.memoryPolicy.flags].sort()).toEqual([...defsLinux.LinuxMemoryPolicy.properties.flags.items.enum].sort());
    // tmpcopyup (runc's extension) is listed, as runc lists it; fs data options (acl) are not
    expect(f.mountOptions).toContain('tmpcopyup');
    expect(f.mountOptions).not.toContain('acl');
    expect(f.mountOptions).toEqual([...f.mountOptions].sort());
  });

  test('seccomp: enabled when tsoci has seccomp support; every name is one the config schema accepts', () => {
    const addon = require(path.join(__dirname, '../../build/Release/tsoci.node'));
    const lib = typeof addon.seccompInfo === 'function' ? addon.seccompInfo() : undefined;
    expect(f.linux.seccomp.enabled).toBe(!!lib?.available);
    if (!f.linux.seccomp.enabled) return;
    expect(f.annotations['io.github.seccomp.libseccomp.version']).toBe(lib.version);
    for (const a of f.linux.seccomp.actions) expect(enumOf('LinuxSeccompAction')).toContain(a);
    expect([...f.linux.seccomp.actions].sort()).toEqual([...enumOf('LinuxSeccompAction')].sort());
    expect([...f.linux.seccomp.operators].sort()).toEqual([...enumOf('LinuxSeccompOperator')].sort());
    for (const a of f.linux.seccomp.archs) expect(enumOf('LinuxSeccompArch')).toContain(a);
    expect(f.linux.seccomp.archs).toContain('SCMP_ARCH_X86_64');
    expect([...f.linux.seccomp.knownFlags].sort()).toEqual([...enumOf('LinuxSeccompFlag')].sort());
    for (const fl of f.linux.seccomp.supportedFlags) expect(f.linux.seccomp.knownFlags).toContain(fl);
  });

  test('annotations and potentiallyUnsafeConfigAnnotations', () => {
    expect(f.annotations['dev.tsoci.version']).toMatch(/^\d+\.\d+\.\d+/);
    expect(Array.isArray(f.potentiallyUnsafeConfigAnnotations)).toBe(true);
  });
});

describe('tsoci spec', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-bundle-spec-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('writes a config.json that validates and runs a busybox container once args are set', () => {
    expect(tsoci(['spec', '--bundle', dir])).toMatchObject({ status: 0, stderr: '' });
    const spec = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(validateConfig(spec)).toEqual([]);
    expect(spec.ociVersion).toBe('1.3.0');
    expect(spec.process.terminal).toBe(true);
    expect(spec.root).toEqual({ path: 'rootfs', readonly: true });
    // runc: a cgroup namespace only on a cgroup v2 (unified) host
    const types = spec.linux.namespaces.map((n: any) => n.type);
    expect(types).toEqual(['pid', 'network', 'ipc', 'uts', 'mount', ...(fs.existsSync('/sys/fs/cgroup/cgroup.controllers') ? ['cgroup'] : [])]);
    spec.process.terminal = false;
    spec.process.args = ['sh', '-c', 'echo hello from $(hostname); touch / 2>/dev/null || echo ro-root'];
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec));
    makeRootfs(path.join(dir, 'rootfs'));
    const r = tsoci(['run', '--bundle', dir, uniqueId('spec')]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hello from tsoci\nro-root\n');
    expect(r.status).toBe(0);
  });

  test("a cgroup namespace only on a cgroup v2 host, like runc's spec", () => {
    expect(tsoci(['spec', '--bundle', dir]).status).toBe(0);
    const types = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).linux.namespaces.map((n: any) => n.type);
    expect(types.slice(0, 5)).toEqual(['pid', 'network', 'ipc', 'uts', 'mount']);
    expect(types.includes('cgroup')).toBe(cgroupHost().mode === 'v2');
  });

  test('-b and the current directory work too', () => {
    expect(tsoci(['spec', '-b', dir]).status).toBe(0);
    const sub = path.join(dir, 'cwd');
    fs.mkdirSync(sub);
    expect(tsoci(['spec'], { cwd: sub }).status).toBe(0);
    expect(fs.existsSync(path.join(sub, 'config.json'))).toBe(true);
  });

  test('--rootless: a user namespace mapping the caller, no network ns, no cgroup mount or resources, /sys bound', () => {
    const rr = tsoci(['spec', '--rootless', '--bundle', dir]);
    expect(rr.status).toBe(0);
    const spec = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(validateConfig(spec)).toEqual([]);
    const types = spec.linux.namespaces.map((n: any) => n.type);
    expect(types).toContain('user');
    expect(types).not.toContain('network');
    expect(spec.linux.uidMappings).toEqual([{ containerID: 0, hostID: process.getuid!(), size: 1 }]);
    expect(spec.linux.gidMappings).toEqual([{ containerID: 0, hostID: process.getgid!(), size: 1 }]);
    expect(spec.linux.resources).toBeUndefined();
    expect(spec.mounts.find((m: any) => m.type === 'cgroup')).toBeUndefined();
    expect(spec.mounts.find((m: any) => m.destination === '/sys')).toMatchObject({ type: 'none', source: '/sys', options: expect.arrayContaining(['rbind', 'ro']) });
    expect(spec.mounts.find((m: any) => m.type === 'devpts').options).not.toContain('gid=5');
  });

  test('refuses to overwrite an existing config.json', () => {
    fs.writeFileSync(path.join(dir, 'config.json'), 'keep me');
    const r = tsoci(['spec', '--bundle', dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`File ${path.join(dir, 'config.json')} exists. Remove it first`);
    expect(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).toBe('keep me');
  });
});

describe('annotations and ociVersion', () => {
  test('annotations are kept in the state', () => {
    const spec = testSpec(['sleep', '600']);
    spec.annotations = { 'org.example.key': 'value', 'com.example.other': 'with spaces = and, commas' };
    const bundle = makeBundle(spec);
    const id = uniqueId('annot');
    try {
      expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
      expect(stateOf(id).annotations).toEqual(spec.annotations);
      expect(tsoci(['start', id]).status).toBe(0);
      expect(stateOf(id)).toMatchObject({ status: 'running', annotations: spec.annotations });
      // the config.json may change after create: the state keeps what create saw
      fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify({ ...spec, annotations: { changed: 'yes' } }));
      expect(stateOf(id).annotations).toEqual(spec.annotations);
    } finally {
      tsoci(['delete', '--force', id]);
      removeBundle(bundle);
    }
  });

  test.each(['1.0.0', '1.0.2-dev', '1.1.0', '1.2.1', '1.3.0', '1.4.0'])('ociVersion %s is accepted', (v) => {
    const r = runScript('echo ok', (s) => {
      s.ociVersion = v;
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('ok\n');
  });

  test.each(['2.0.0', '0.9.0'])('ociVersion %s is rejected before anything is created', (v) => {
    const spec = testSpec(['true']);
    spec.ociVersion = v;
    const bundle = makeBundle(spec);
    const id = uniqueId('badver');
    const before = snapshot(TEST_ROOT);
    try {
      const r = tsoci(['create', '--bundle', bundle, id]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`unsupported ociVersion "${v}": tsoci supports 1.x`);
      expect(leftovers(before, id, bundle)).toEqual([]);
    } finally {
      removeBundle(bundle);
    }
  });
});

describe('mounts: relative destinations (runtime-spec 1.2)', () => {
  test('a relative destination is taken relative to /', () => {
    const r = runScript('grep " /mnt/rel " /proc/self/mountinfo | cut -d" " -f5', (s) => {
      s.mounts.push({ destination: 'mnt/rel', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] });
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('/mnt/rel\n');
  });
});

describe('mounts: id-mapped binds (mount_setattr MOUNT_ATTR_IDMAP)', () => {
  let src: string;
  beforeEach(() => {
    src = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-bundle-idmap-'));
    fs.chmodSync(src, 0o755);
    fs.writeFileSync(path.join(src, 'file'), 'x');
    fs.chownSync(path.join(src, 'file'), 1000, 1000);
  });
  afterEach(() => fs.rmSync(src, { recursive: true, force: true }));

  test('a file owned by host uid 1000 appears owned by the mapped uid inside; the host file is unchanged', () => {
    const r = runScript('stat -c %u:%g /mnt/idm/file; stat -c %u:%g /mnt/plain/file; grep " /mnt/idm " /proc/self/mountinfo', (s) => {
      s.mounts.push({ destination: '/mnt/idm', type: 'bind', source: src, options: ['bind', 'idmap'],
        uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }], gidMappings: [{ containerID: 0, hostID: 200000, size: 65536 }] });
      s.mounts.push({ destination: '/mnt/plain', type: 'bind', source: src, options: ['bind'] });
    });
    expect(r.stderr).toBe('');
    const [idm, plain, info] = r.stdout.trim().split('\n');
    expect(idm).toBe('101000:201000');
    expect(plain).toBe('1000:1000');
    expect(info).toMatch(/\bidmapped\b/);
    expect(fs.statSync(path.join(src, 'file'))).toMatchObject({ uid: 1000, gid: 1000 });
  });

  test('idmap without mappings uses the container user namespace maps: owners look as on the host', () => {
    const r = runScript('stat -c %u:%g /mnt/idm/file /mnt/plain/file; id -u', (s) => {
      s.linux.namespaces.push({ type: 'user' });
      s.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.mounts.push({ destination: '/mnt/idm', type: 'bind', source: src, options: ['bind', 'idmap'] });
      s.mounts.push({ destination: '/mnt/plain', type: 'bind', source: src, options: ['bind'] });
    }, (bundle) => execFileSync('chown', ['-R', '100000:100000', path.join(bundle, 'rootfs')]));
    expect(r.stderr).toBe('');
    // without the idmap, host uid 1000 has no mapping in the container: the overflow id
    expect(r.stdout).toBe('1000:1000\n65534:65534\n0\n');
  });

  test('ridmap maps the submounts of an rbind too; idmap only the top', () => {
    const sub = path.join(src, 'sub');
    fs.mkdirSync(sub);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', sub]);
    try {
      fs.writeFileSync(path.join(sub, 'f'), 'y');
      fs.chownSync(path.join(sub, 'f'), 1000, 1000);
      const maps = { uidMappings: [{ containerID: 1000, hostID: 3000, size: 1 }], gidMappings: [{ containerID: 1000, hostID: 3000, size: 1 }] };
      const r = runScript('stat -c %u /mnt/r/file /mnt/r/sub/f /mnt/i/file /mnt/i/sub/f', (s) => {
        s.mounts.push({ destination: '/mnt/r', type: 'bind', source: src, options: ['rbind', 'ridmap'], ...maps });
        s.mounts.push({ destination: '/mnt/i', type: 'bind', source: src, options: ['rbind', 'idmap'], ...maps });
      });
      expect(r.stderr).toBe('');
      // tmpfs supports idmapped mounts since Linux 6.3
      expect(r.stdout.trim().split('\n')).toEqual(['3000', '3000', '3000', '1000']);
    } finally {
      execFileSync('umount', ['-l', sub]);
    }
  });

  test.each([
    ['idmap on a non-bind mount', (s: any) => s.mounts.push({ destination: '/mnt/t', type: 'tmpfs', source: 'tmpfs', options: ['idmap'] }), 'id-mapped mounts are only supported for bind mounts'],
    ['idmap without mappings and without a user namespace', (s: any) => s.mounts.push({ destination: '/mnt/t', type: 'bind', source: '/tmp', options: ['bind', 'idmap'] }), "needs the container's user namespace mappings"],
  ])('%s is an error; nothing is left behind', (_name, edit, message) => {
    const spec = testSpec(['true']);
    edit(spec);
    const bundle = makeBundle(spec);
    const id = uniqueId('idmaperr');
    const before = snapshot(TEST_ROOT);
    try {
      const r = tsoci(['create', '--bundle', bundle, id]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(message);
      expect(leftovers(before, id, bundle)).toEqual([]);
    } finally {
      removeBundle(bundle);
    }
  });
});

describe('mounts: recursive attributes (mount_setattr AT_RECURSIVE)', () => {
  let src: string;
  let sub: string;
  beforeAll(() => {
    src = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-bundle-rattr-'));
    fs.chmodSync(src, 0o755);
    sub = path.join(src, 'sub');
    fs.mkdirSync(sub);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', sub]);
  });
  afterAll(() => {
    execFileSync('umount', ['-l', sub]);
    fs.rmSync(src, { recursive: true, force: true });
  });
  const opts = (mp: string, out: string) => out.split('\n').find((l) => l.split(' ')[4] === mp)?.split(' ')[5] ?? '';

  test('rro on an rbind makes the submounts read-only too; ro only the top', () => {
    const r = runScript('for d in /mnt/rro /mnt/rro/sub /mnt/ro /mnt/ro/sub; do touch $d/x 2>/dev/null && echo $d:rw || echo $d:ro; done; cat /proc/self/mountinfo', (s) => {
      s.mounts.push({ destination: '/mnt/rro', type: 'bind', source: src, options: ['rbind', 'rro'] });
      s.mounts.push({ destination: '/mnt/ro', type: 'bind', source: src, options: ['rbind', 'ro'] });
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('/mnt/rro:ro\n/mnt/rro/sub:ro\n/mnt/ro:ro\n/mnt/ro/sub:rw\n');
    expect(opts('/mnt/rro/sub', r.stdout)).toMatch(/^ro,/);
    expect(opts('/mnt/ro/sub', r.stdout)).toMatch(/^rw,/);
    fs.rmSync(path.join(sub, 'x'), { force: true });
  });

  test('rnosuid, rnodev, rnoexec, rnoatime reach the submounts', () => {
    const r = runScript('cat /proc/self/mountinfo', (s) => {
      s.mounts.push({ destination: '/mnt/r', type: 'bind', source: src, options: ['rbind', 'rnosuid', 'rnodev', 'rnoexec', 'rnoatime'] });
    });
    expect(r.stderr).toBe('');
    const o = opts('/mnt/r/sub', r.stdout).split(',');
    expect(o).toEqual(expect.arrayContaining(['nosuid', 'nodev', 'noexec', 'noatime']));
  });

  test('rrw clears a read-only submount; rexec after rnoexec wins', () => {
    execFileSync('mount', ['-o', 'remount,bind,ro', sub]); // the mount, not the tmpfs superblock
    try {
      const r = runScript('touch /mnt/r/sub/x && echo writable; cat /proc/self/mountinfo', (s) => {
        s.mounts.push({ destination: '/mnt/r', type: 'bind', source: src, options: ['rbind', 'rnoexec', 'rexec', 'rrw'] });
      });
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('writable\n');
      expect(opts('/mnt/r/sub', r.stdout).split(',')).not.toContain('noexec');
    } finally {
      execFileSync('mount', ['-o', 'remount,bind,rw', sub]);
      fs.rmSync(path.join(sub, 'x'), { force: true });
    }
  });
});

describe('linux.netDevices (veth pairs: this kernel has no dummy module)', () => {
  const pairs: string[] = [];
  function vethPair(): [string, string] {
    const r = Math.random().toString(36).slice(2, 7);
    const [a, b] = [`tsa${r}`, `tsb${r}`];
    execFileSync('ip', ['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
    pairs.push(a, b);
    return [a, b];
  }
  const hostHas = (dev: string) => {
    try {
      execFileSync('ip', ['link', 'show', 'dev', dev], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  const withIp = (bundle: string) => fs.symlinkSync('busybox', path.join(bundle, 'rootfs/bin/ip'));
  afterEach(() => {
    // the kernel deletes a veth whose peer's namespace has gone, asynchronously: it may vanish between the check and the del
    const made = pairs.splice(0);
    for (const d of made) if (hostHas(d)) spawnSync('ip', ['link', 'del', d]);
    for (const d of made) expect(hostHas(d)).toBe(false);
  });

  test('moved in renamed, up, permanent global addresses kept; gone with the namespace at delete (veth)', () => {
    const [a, b] = vethPair();
    execFileSync('ip', ['addr', 'add', '10.251.7.1/24', 'dev', a]);
    execFileSync('ip', ['addr', 'add', '10.251.8.1/24', 'dev', a, 'valid_lft', '100', 'preferred_lft', '100']);
    const spec = testSpec(['sh', '-c', 'ip -o addr show dev ctr0; ip -o link show dev ctr0; sleep 600']);
    spec.linux.netDevices = { [a]: { name: 'ctr0' } };
    const bundle = makeBundle(spec);
    withIp(bundle);
    const id = uniqueId('netdev');
    const out = path.join(bundle, 'out');
    try {
      const fd = fs.openSync(out, 'w');
      // (the container's output goes to a file: tsoci() would wait for a pipe held open by it)
      const c = require('child_process').spawnSync(path.join(__dirname, '../../bin/tsoci'), ['--root', TEST_ROOT, 'create', '--bundle', bundle, id], { stdio: ['ignore', fd, fd] });
      fs.closeSync(fd);
      expect(c.status).toBe(0);
      expect(hostHas(a)).toBe(false); // moved
      expect(hostHas(b)).toBe(true);
      expect(tsoci(['start', id]).status).toBe(0);
      const deadline = Date.now() + 5000;
      while (!/ctr0.*<.*UP/.test(fs.readFileSync(out, 'utf8')) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      const text = fs.readFileSync(out, 'utf8');
      expect(text).toMatch(/ctr0\s+inet 10\.251\.7\.1\/24/);
      expect(text).not.toContain('10.251.8.1'); // a dynamic address is not permanent
      expect(text).toMatch(/ctr0.*<[^>]*\bUP\b/);
      expect(tsoci(['delete', '--force', id]).status).toBe(0);
      // not moved back (the spec forbids it): the namespace is gone, and with it the veth pair
      const end = Date.now() + 5000;
      while (hostHas(b) && Date.now() < end) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      expect(hostHas(a)).toBe(false);
      expect(hostHas(b)).toBe(false);
    } finally {
      tsoci(['delete', '--force', id]);
      removeBundle(bundle);
    }
  });

  test('a name template (eth%d) lets the kernel pick the number; the host name is kept without name', () => {
    const [a] = vethPair();
    const [c] = vethPair();
    const r = runScript('ip -o link show | cut -d: -f2 | cut -d@ -f1 | tr -d " " | sort | tr "\\n" " "', (s) => {
      s.linux.netDevices = { [a]: { name: 'eth%d' }, [c]: {} };
    }, withIp);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split(' ').sort()).toEqual([c, 'eth0', 'lo'].sort());
  });

  test.each([
    ['a device that does not exist', () => ({ nosuchdev0: {} }), 'not found on the host'],
    ['a name taken in the container (the first device goes back)', (a: string, c: string) => ({ [a]: { name: 'x0' }, [c]: { name: 'x0' } }), 'already exists in the container'],
    ['an invalid name', (a: string) => ({ [a]: { name: 'a/b' } }), 'invalid network device name'],
  ])('%s: create fails, nothing is left, the host keeps its devices', (_n, devices, message) => {
    const [a] = vethPair();
    const [c] = vethPair();
    execFileSync('ip', ['addr', 'add', '10.251.9.1/24', 'dev', a]);
    const spec = testSpec(['true']);
    spec.linux.netDevices = (devices as (a: string, c: string) => object)(a, c);
    const bundle = makeBundle(spec);
    const id = uniqueId('netdeverr');
    const before = snapshot(TEST_ROOT);
    try {
      const r = tsoci(['create', '--bundle', bundle, id]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(message);
      expect(leftovers(before, id, bundle)).toEqual([]);
      expect(hostHas(a)).toBe(true);
      expect(hostHas(c)).toBe(true);
      expect(execFileSync('ip', ['-o', 'addr', 'show', 'dev', a], { encoding: 'utf8' })).toContain('10.251.9.1/24');
    } finally {
      removeBundle(bundle);
    }
  });

  test('without a network namespace of its own: an error before anything is created', () => {
    const [a] = vethPair();
    const spec = testSpec(['true']);
    spec.linux.namespaces = spec.linux.namespaces.filter((n: any) => n.type !== 'network');
    spec.linux.netDevices = { [a]: {} };
    const bundle = makeBundle(spec);
    try {
      const r = tsoci(['create', '--bundle', bundle, uniqueId('nonet')]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('linux.netDevices: the container has no network namespace of its own');
      expect(hostHas(a)).toBe(true);
    } finally {
      removeBundle(bundle);
    }
  });
});

describe('linux.memoryPolicy (set_mempolicy before execve; this host has NUMA node 0)', () => {
  const policyLine = (out: string) => out.trim().split('\n')[0].split(' ')[1];
  test.each([
    [{ mode: 'MPOL_BIND', nodes: '0' }, 'bind:0'],
    [{ mode: 'MPOL_INTERLEAVE', nodes: '0' }, 'interleave:0'],
    [{ mode: 'MPOL_PREFERRED', nodes: '0' }, 'prefer:0'],
    [{ mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] }, 'bind=static:0'],
    [{ mode: 'MPOL_PREFERRED_MANY', nodes: '0' }, 'prefer (many):0'],
    [{ mode: 'MPOL_LOCAL' }, 'local'],
  ])('%j: the process (and what it execs) runs with it: numa_maps says %s', (mp, want) => {
    // the task policy is what /proc/<pid>/numa_maps shows for mappings without their own
    const r = runScript('head -1 /proc/self/numa_maps | cut -d" " -f2-3; grep Mems_allowed_list /proc/self/status', (s) => {
      s.linux.memoryPolicy = mp;
    });
    expect(r.stderr).toBe('');
    const first = r.stdout.split('\n')[0];
    expect(want.includes(' ') ? first.startsWith(want) : policyLine(`x ${first}`) === want).toBe(true);
  });

  test('without memoryPolicy: default', () => {
    const r = runScript('head -1 /proc/self/numa_maps | cut -d" " -f2');
    expect(r.stdout.trim()).toBe('default');
  });

  test.each([
    ['a node the host lacks (kernel EINVAL)', { mode: 'MPOL_BIND', nodes: '7' }, 'set_mempolicy(mode 2, nodes "7", flags 0): invalid argument'],
    ['MPOL_BIND without nodes', { mode: 'MPOL_BIND' }, 'memory policy mode requires at least one node but got 0'],
    ['MPOL_DEFAULT with nodes', { mode: 'MPOL_DEFAULT', nodes: '0' }, 'memory policy mode requires 0 nodes but got 1'],
    ['a bad node list', { mode: 'MPOL_BIND', nodes: '0-x' }, 'invalid node list'],
    ['static and relative together', { mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES', 'MPOL_F_RELATIVE_NODES'] }, 'exclude each other'],
  ])('%s: create fails, nothing is left', (_n, mp, message) => {
    const spec = testSpec(['true']);
    spec.linux.memoryPolicy = mp;
    const bundle = makeBundle(spec);
    const id = uniqueId('mpol');
    const before = snapshot(TEST_ROOT);
    try {
      const r = tsoci(['create', '--bundle', bundle, id]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(message);
      expect(leftovers(before, id, bundle)).toEqual([]);
    } finally {
      removeBundle(bundle);
    }
  });
});

describe('linux.intelRdt', () => {
  test('this host has no resctrl: create fails with a clear error, nothing is left', () => {
    expect(fs.existsSync('/sys/fs/resctrl/info')).toBe(false);
    const spec = testSpec(['true']);
    spec.linux.intelRdt = { closID: 'gold', l3CacheSchema: 'L3:0=ff', enableMonitoring: true };
    const bundle = makeBundle(spec);
    const id = uniqueId('rdt');
    const before = snapshot(TEST_ROOT);
    try {
      const r = tsoci(['create', '--bundle', bundle, id]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('linux.intelRdt: Intel RDT is not available on this host (no resctrl file system at /sys/fs/resctrl');
      expect(leftovers(before, id, bundle)).toEqual([]);
    } finally {
      removeBundle(bundle);
    }
  });
});
