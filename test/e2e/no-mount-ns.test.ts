import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { settledDiff, snapshot } from '../helpers/leaks';
import { deleteAll, stateOf, tsoci, uniqueId, TEST_ROOT, TSOCI } from '../helpers/tsoci';

// A container without a mount namespace of its own (linux.namespaces has no "mount")
// shares the host's, as with runc and crun: its mounts are made beneath the rootfs in the
// host's mount table and the process is chroot()ed there. Unlike runc (which also makes
// the host's "/" rslave, binds the rootfs onto itself and leaves all of it mounted after
// delete), tsoci changes nothing else in the host's mount table and delete removes exactly
// the mounts it made. runtime-tools' linux_ns_itype creates such a container.

const HOST_MNT = fs.readlinkSync('/proc/self/ns/mnt');

function noMountNsSpec(args: string[]): Record<string, any> {
  const s = testSpec(args);
  s.linux.namespaces = s.linux.namespaces.filter((n: { type: string }) => n.type !== 'mount');
  delete s.linux.maskedPaths; // refused without a mount namespace (runc too)
  delete s.linux.readonlyPaths;
  return s;
}

/** Unescaped mount points from the host's mountinfo, and the line of "/" itself. */
function hostMounts(): { points: string[]; rootLine: string } {
  const lines = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean);
  const points = lines.map((l) => l.split(' ')[4].replace(/\\([0-3][0-7]{2})/g, (_, o) => String.fromCharCode(parseInt(o, 8))));
  const rootLine = lines.find((l) => l.split(' ')[4] === '/') ?? '';
  return { points, rootLine };
}

function mountsBelow(dir: string): string[] {
  return hostMounts().points.filter((p) => p === dir || p.startsWith(dir + '/'));
}

function waitFor(cond: () => boolean, ms = 5000): void {
  const end = Date.now() + ms;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    Atomics.wait(sleeper, 0, 0, 20);
  }
}

const bundles: string[] = [];
function bundle(spec: Record<string, any>): string {
  const b = makeBundle(spec);
  bundles.push(b);
  return b;
}
function writeSpec(b: string, spec: Record<string, any>): void {
  fs.writeFileSync(path.join(b, 'config.json'), JSON.stringify(spec));
}

afterEach(() => deleteAll());
afterAll(() => {
  for (const b of bundles) removeBundle(b);
});

describe('a container without a mount namespace', () => {
  test("shares the host's mount namespace, sees its own mounts in its chroot; delete removes exactly them", () => {
    const script = 'readlink /proc/self/ns/mnt > /tmp/mnt; ls /dev > /tmp/dev; test -c /dev/null && echo ok > /tmp/null; sleep 600';
    const b = bundle(noMountNsSpec(['sh', '-c', script]));
    const rootfs = fs.realpathSync(path.join(b, 'rootfs'));
    const before = snapshot(TEST_ROOT);
    const hostRootBefore = hostMounts().rootLine;
    const id = uniqueId('nomnt');
    const c = tsoci(['create', '--bundle', b, id]);
    expect(c.stderr).toBe('');
    expect(c.status).toBe(0);
    const pid = stateOf(id).pid;
    expect(fs.readlinkSync(`/proc/${pid}/ns/mnt`)).toBe(HOST_MNT);
    // no pivot_root: chroot into the rootfs, which is not made a mount point (no self-bind)
    expect(fs.readlinkSync(`/proc/${pid}/root`)).toBe(rootfs);
    const made = mountsBelow(rootfs);
    expect(made).not.toContain(rootfs);
    expect([...made].sort()).toEqual(['/dev', '/dev/mqueue', '/dev/pts', '/dev/shm', '/proc', '/sys'].map((d) => rootfs + d));
    expect(hostMounts().rootLine).toBe(hostRootBefore); // "/" keeps its propagation

    expect(tsoci(['start', id]).status).toBe(0);
    waitFor(() => fs.existsSync(path.join(rootfs, 'tmp/null')));
    expect(fs.readFileSync(path.join(rootfs, 'tmp/mnt'), 'utf8').trim()).toBe(HOST_MNT);
    expect(fs.readFileSync(path.join(rootfs, 'tmp/dev'), 'utf8').split('\n')).toEqual(expect.arrayContaining(['null', 'pts', 'shm', 'mqueue', 'ptmx']));

    const d = tsoci(['delete', '--force', id]);
    expect(d.stderr).toBe('');
    expect(d.status).toBe(0);
    expect(mountsBelow(rootfs)).toEqual([]);
    expect(hostMounts().rootLine).toBe(hostRootBefore);
    expect(settledDiff(before, TEST_ROOT, { mentioning: [id, b] })).toEqual([]);
  });

  test('run in the foreground: the mounts go with the container', () => {
    const b = bundle(noMountNsSpec(['sh', '-c', 'test -d /proc/self && echo hi']));
    const before = snapshot(TEST_ROOT);
    const id = uniqueId('nomntrun');
    const r = tsoci(['run', '--bundle', b, id]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hi\n');
    expect(r.status).toBe(0);
    expect(mountsBelow(path.join(b, 'rootfs'))).toEqual([]);
    expect(settledDiff(before, TEST_ROOT, { mentioning: [id, b] })).toEqual([]);
  });

  test('a mount a container made beneath a recorded one goes along at delete', () => {
    const spec = noMountNsSpec(['sh', '-c', 'mkdir -p /dev/shm/x && mount -t tmpfs t /dev/shm/x && touch /tmp/done; sleep 600']);
    delete spec.process.capabilities; // all of root's: CAP_SYS_ADMIN to mount
    const b = bundle(spec);
    const rootfs = fs.realpathSync(path.join(b, 'rootfs'));
    const before = snapshot(TEST_ROOT);
    const id = uniqueId('nomntsub');
    expect(tsoci(['run', '-d', '--bundle', b, id]).status).toBe(0);
    waitFor(() => fs.existsSync(path.join(rootfs, 'tmp/done')));
    expect(mountsBelow(rootfs)).toContain(`${rootfs}/dev/shm/x`);
    expect(tsoci(['delete', '--force', id]).status).toBe(0);
    expect(mountsBelow(rootfs)).toEqual([]);
    expect(settledDiff(before, TEST_ROOT, { mentioning: [id, b] })).toEqual([]);
  });

  test("exec joins its namespaces but, like runc and crun, stays in the host's root", () => {
    const b = bundle(noMountNsSpec(['sleep', '600']));
    const id = uniqueId('nomntexec');
    expect(tsoci(['run', '-d', '--bundle', b, id]).status).toBe(0);
    const r = tsoci(['exec', id, '/bin/sh', '-c', 'readlink /proc/self/root; readlink /proc/self/ns/mnt']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`/\n${HOST_MNT}\n`);
    expect(r.status).toBe(0);
  });

  test('mounts with a shared parent propagate to its peers and are removed there too', () => {
    // a shared tmpfs with a peer elsewhere: what a systemd host's shared "/" does to the rootfs
    const top = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-bundle-shared-'));
    const a = path.join(top, 'a');
    const peer = path.join(top, 'peer');
    fs.mkdirSync(a);
    fs.mkdirSync(peer);
    const sh = (cmd: string) => expect(spawnSync('sh', ['-c', cmd], { encoding: 'utf8' }).status).toBe(0);
    try {
      sh(`mount -t tmpfs tmpfs '${a}' && mount --make-shared '${a}' && mount --bind '${a}' '${peer}'`);
      const before = snapshot(TEST_ROOT);
      const b = path.join(a, 'bundle');
      fs.mkdirSync(b);
      const src = bundle(noMountNsSpec(['sleep', '600']));
      fs.cpSync(src, b, { recursive: true, verbatimSymlinks: true });
      const id = uniqueId('nomntshared');
      expect(tsoci(['run', '-d', '--bundle', b, id]).status).toBe(0);
      expect(mountsBelow(path.join(peer, 'bundle/rootfs'))).toContain(path.join(peer, 'bundle/rootfs/proc'));
      expect(tsoci(['delete', '--force', id]).status).toBe(0);
      expect(mountsBelow(path.join(a, 'bundle'))).toEqual([]);
      expect(mountsBelow(path.join(peer, 'bundle'))).toEqual([]);
      expect(settledDiff(before, TEST_ROOT, { mentioning: [id, b] })).toEqual([]);
    } finally {
      spawnSync('umount', ['-l', peer]);
      spawnSync('umount', ['-l', a]);
      fs.rmSync(top, { recursive: true, force: true });
    }
  });

  test('a rootfs that is the host\'s "/": refused with mounts, runs without', () => {
    const spec = noMountNsSpec(['/bin/sh', '-c', 'test -d /proc/self && echo host-root']);
    spec.root = { path: '/' };
    const b = bundle(spec);
    const before = snapshot(TEST_ROOT);
    const id = uniqueId('nomntslash');
    const r = tsoci(['run', '--bundle', b, id]);
    expect(r.stderr).toMatch(/the rootfs is the host's \/ and the container has no mount namespace/);
    expect(r.status).toBe(1);
    spec.mounts = [];
    writeSpec(b, spec);
    const ok = tsoci(['run', '--bundle', b, `${id}-ok`]);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toBe('host-root\n');
    expect(settledDiff(before, TEST_ROOT, { mentioning: [id, b] })).toEqual([]);
  });
});

describe('what cannot be done without a mount namespace fails and leaves nothing', () => {
  const refused: [string, (s: Record<string, any>) => void, RegExp][] = [
    ['maskedPaths', (s) => (s.linux.maskedPaths = ['/proc/kcore']), /linux\.maskedPaths: unable to restrict sys entries without a private MNT namespace/],
    ['readonlyPaths', (s) => (s.linux.readonlyPaths = ['/proc/sys']), /unable to restrict sys entries without a private MNT namespace/],
    ['root.readonly', (s) => (s.root.readonly = true), /root\.readonly: unable to make the rootfs read-only without a private MNT namespace/],
    ['a mount failing after others were made', (s) => s.mounts.push({ destination: '/x', type: 'bind', source: '/nonexistent-tsoci-source', options: ['bind'] }),
      /mount \/nonexistent-tsoci-source to \/x .*no such file or directory/],
    ['a user namespace (mounting in the host\'s needs its privileges)', (s) => {
      s.linux.namespaces.push({ type: 'user' });
      s.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    }, /mount proc to \/proc .*operation not permitted/],
  ];
  test.each(refused)('%s', (_name, change, message) => {
    const spec = noMountNsSpec(['true']);
    change(spec);
    const b = bundle(spec);
    fs.chmodSync(b, 0o755); // (a mapped root must reach its rootfs)
    const before = snapshot(TEST_ROOT);
    const id = uniqueId('nomntfail');
    const r = tsoci(['create', '--bundle', b, id]);
    expect(r.stderr).toMatch(message);
    expect(r.status).toBe(1);
    expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
    expect(mountsBelow(path.join(b, 'rootfs'))).toEqual([]);
    expect(settledDiff(before, TEST_ROOT, { mentioning: [id, b] })).toEqual([]);
  });

  const steps = ['host-mounts', 'mount:/proc', 'mount:/dev/pts', 'mount:/sys', 'devices', 'pre-pivot', 'post-pivot', 'process', 'ready'];
  test.each(steps)('TSOCI_FAULT=%s', (step) => {
    const b = bundle(noMountNsSpec(['sleep', '600']));
    const before = snapshot(TEST_ROOT);
    const id = uniqueId('nomntfault');
    const r = tsoci(['create', '--bundle', b, id], { env: { ...process.env, TSOCI_FAULT: step } });
    expect(r.stderr).toContain(`fault injected at ${step}`);
    expect(r.status).toBe(1);
    expect(mountsBelow(path.join(b, 'rootfs'))).toEqual([]);
    expect(settledDiff(before, TEST_ROOT, { mentioning: [id, b] })).toEqual([]);
  });

  test('tsoci SIGKILLed mid-mounts: delete --force removes what was mounted', async () => {
    const b = bundle(noMountNsSpec(['sleep', '600']));
    const rootfs = fs.realpathSync(path.join(b, 'rootfs'));
    const before = snapshot(TEST_ROOT);
    const id = uniqueId('nomntkill');
    const child = spawn(TSOCI, ['--root', TEST_ROOT, 'create', '--bundle', b, id], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TSOCI_FAULT: 'sleep:mount:/sys' } });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const end = Date.now() + 15000;
    while (!err.includes('fault: sleeping at mount:/sys') && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    expect(mountsBelow(rootfs).length).toBeGreaterThan(3); // /proc, /dev and beneath, /sys
    child.kill('SIGKILL');
    await exited;
    child.stderr.destroy();
    const r = tsoci(['delete', '--force', id]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(mountsBelow(rootfs)).toEqual([]);
    expect(settledDiff(before, TEST_ROOT, { mentioning: [id, b] })).toEqual([]);
  });

  test('delete from another mount namespace touches nothing and keeps the state; from the right one it cleans up', () => {
    const b = bundle(noMountNsSpec(['sleep', '600']));
    const rootfs = fs.realpathSync(path.join(b, 'rootfs'));
    const before = snapshot(TEST_ROOT);
    const id = uniqueId('nomntns');
    expect(tsoci(['run', '-d', '--bundle', b, id]).status).toBe(0);
    const other = spawnSync('unshare', ['--mount', '--propagation', 'unchanged', TSOCI, '--root', TEST_ROOT, 'delete', '--force', id], { encoding: 'utf8' });
    expect(other.stderr).toMatch(/are in mount namespace .* not in ours .*: delete it from there/);
    expect(other.status).toBe(1);
    expect(mountsBelow(rootfs).length).toBe(6);
    expect(stateOf(id).status).toBe('stopped');
    expect(tsoci(['delete', id]).status).toBe(0);
    expect(mountsBelow(rootfs)).toEqual([]);
    expect(settledDiff(before, TEST_ROOT, { mentioning: [id, b] })).toEqual([]);
  });
});
