import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { snapshot } from '../helpers/leaks';
import { leftovers } from '../helpers/host-checks';
import { deleteAll, stateOf, tsoci, uniqueId, TEST_ROOT } from '../helpers/tsoci';

// runc's userns.bats, kill.bats and delete.bats cases: a container joining another one's
// namespaces by path, and kill/delete of containers without a PID namespace of their own
// (the host's, or another container's), also once their init is gone.

const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleepMs = (ms: number) => Atomics.wait(sleeper, 0, 0, ms);
const NS_FILE: Record<string, string> = { network: 'net', mount: 'mnt' };
const nsFile = (t: string) => NS_FILE[t] ?? t;

const bundles: string[] = [];
const bindMounts: string[] = [];
afterEach(() => {
  deleteAll();
  for (const m of bindMounts.splice(0)) {
    try { execFileSync('umount', ['-l', m]); } catch { /* already gone */ }
    fs.rmSync(m, { force: true });
  }
  for (const b of bundles.splice(0)) removeBundle(b);
});

function bundleOf(spec: Record<string, any>, prepare?: (rootfs: string) => void): string {
  const b = makeBundle(spec);
  fs.chmodSync(b, 0o755); // reachable from a user namespace
  bundles.push(b);
  prepare?.(path.join(b, 'rootfs'));
  return b;
}

function ok(args: string[]): string {
  const r = tsoci(args);
  if (r.status !== 0) throw new Error(`tsoci ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].startsWith('Z');
  } catch {
    return false;
  }
};
function waitGone(pids: number[], ms = 10000): number[] {
  const end = Date.now() + ms;
  let left = pids.filter(alive);
  while (left.length > 0 && Date.now() < end) {
    sleepMs(20);
    left = left.filter(alive);
  }
  return left;
}
const psPids = (id: string): number[] => JSON.parse(ok(['ps', '--format', 'json', id]));

const USERNS_MAPS = {
  uidMappings: [{ hostID: 100000, containerID: 0, size: 65534 }],
  gidMappings: [{ hostID: 200000, containerID: 0, size: 65534 }],
};
const remap = (rootfs: string) => execFileSync('chown', ['-R', '100000:200000', rootfs]);

/** A detached `sleep` container; returns its init's pid. */
function target(id: string, edit: (s: Record<string, any>) => void = () => undefined, prepare?: (rootfs: string) => void): number {
  const spec = testSpec(['sleep', '1000']);
  edit(spec);
  ok(['run', '-d', '--bundle', bundleOf(spec, prepare), id]);
  return stateOf(id).pid;
}

describe('joining another container\'s namespaces by path (/proc/<pid>/ns/*)', () => {
  test('pid, network, ipc and uts: the second container is in the first one\'s', () => {
    const pid = target(uniqueId('tgt'));
    const types = ['pid', 'network', 'ipc', 'uts'];
    const spec = testSpec(['sh', '-c', types.map((t) => `readlink /proc/self/ns/${nsFile(t)}`).join('; ')]);
    spec.linux.namespaces = spec.linux.namespaces.map((n: any) => (types.includes(n.type) ? { ...n, path: `/proc/${pid}/ns/${nsFile(n.type)}` } : n));
    const r = tsoci(['run', '--bundle', bundleOf(spec), uniqueId('join')]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual(types.map((t) => fs.readlinkSync(`/proc/${pid}/ns/${nsFile(t)}`)));
  });

  const joinUserns = (userPath: (pid: number) => string) => {
    const pid = target(uniqueId('tgtuser'), (s) => { s.linux.namespaces.push({ type: 'user' }); Object.assign(s.linux, USERNS_MAPS); }, remap);
    const spec = testSpec(['sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; readlink /proc/self/ns/user']);
    spec.linux.namespaces.push({ type: 'user', path: userPath(pid) });
    const r = tsoci(['run', '--bundle', bundleOf(spec, remap), uniqueId('inuser')]);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    expect(lines).toEqual(['0 100000 65534', '0 200000 65534', fs.readlinkSync(`/proc/${pid}/ns/user`)]);
    return pid;
  };

  test('user namespace (no mappings of its own): the first container\'s mappings', () => {
    joinUserns((pid) => `/proc/${pid}/ns/user`);
  });

  test('user namespace through a bind-mounted nsfd', () => {
    joinUserns((pid) => {
      const p = path.join(os.tmpdir(), `tsoci-bundle-userns-${uniqueId('ns')}`);
      fs.writeFileSync(p, '');
      execFileSync('mount', ['--bind', `/proc/${pid}/ns/user`, p]);
      bindMounts.push(p);
      return p;
    });
  });

  test('a user namespace plus a network namespace it does not own (runc issue 4390)', () => {
    const tgt = uniqueId('tgtuser');
    const pid = target(tgt, (s) => { s.linux.namespaces.push({ type: 'user' }); Object.assign(s.linux, USERNS_MAPS); }, remap);
    const userns = path.join(os.tmpdir(), `tsoci-bundle-userns-${uniqueId('ns')}`);
    fs.writeFileSync(userns, '');
    execFileSync('mount', ['--bind', `/proc/${pid}/ns/user`, userns]);
    bindMounts.push(userns);
    ok(['delete', '--force', tgt]); // the user namespace lives on through the bind mount
    // the host's network namespace: owned by the host's user namespace
    const netns = path.join(os.tmpdir(), `tsoci-bundle-netns-${uniqueId('ns')}`);
    fs.writeFileSync(netns, '');
    execFileSync('mount', ['--bind', '/proc/self/ns/net', netns]);
    bindMounts.push(netns);

    const spec = testSpec(['sh', '-c', 'readlink /proc/self/ns/user; readlink /proc/self/ns/net']);
    spec.linux.namespaces = spec.linux.namespaces.map((n: any) => (n.type === 'network' ? { type: 'network', path: netns } : n));
    spec.linux.namespaces.push({ type: 'user', path: userns });
    spec.mounts = spec.mounts.map((m: any) => (m.type === 'sysfs' ? { source: '/sys', destination: m.destination, type: 'bind', options: ['rbind'] } : m));
    const r = tsoci(['run', '--bundle', bundleOf(spec, remap), uniqueId('ext')]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual([`user:[${fs.statSync(userns).ino}]`, `net:[${fs.statSync(netns).ino}]`]);
  });

  test('every namespace but mount (path "") joined, user and time included: mappings and clock offsets are the first one\'s', () => {
    const pid = target(uniqueId('tgtall'), (s) => {
      s.linux.namespaces.push({ type: 'user' }, { type: 'time' });
      s.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 100 }];
      s.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 200 }];
      s.linux.timeOffsets = { monotonic: { secs: 7881, nanosecs: 2718281 }, boottime: { secs: 1337, nanosecs: 3141519 } };
    }, remap);
    const spec = testSpec(['sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map /proc/self/timens_offsets; tr "\\0" " " < /proc/1/cmdline']);
    spec.linux.namespaces.push({ type: 'user' }, { type: 'time' });
    spec.linux.namespaces = spec.linux.namespaces.map((n: any) => ({ type: n.type, path: n.type === 'mount' ? '' : `/proc/${pid}/ns/${nsFile(n.type)}` }));
    const r = tsoci(['run', '--bundle', bundleOf(spec, remap), uniqueId('attall')]);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    // PID 1 here is the first container's sleep: one PID namespace
    expect(lines).toEqual(['0 100000 100', '0 200000 200', 'monotonic 7881 2718281', 'boottime 1337 3141519', 'sleep 1000']);
  });

  test('idmap without mappings in a joined user namespace: that namespace\'s mappings (runc idmap.bats, userns join)', () => {
    const src = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-bundle-idsrc-'));
    fs.chmodSync(src, 0o755);
    fs.writeFileSync(path.join(src, 'f'), '');
    fs.chownSync(path.join(src, 'f'), 100, 211);
    try {
      const pid = target(uniqueId('tgtidm'), (s) => { s.linux.namespaces.push({ type: 'user' }); Object.assign(s.linux, USERNS_MAPS); }, remap);
      const spec = testSpec(['sh', '-c', 'stat -c %u=%g /mnt/idm/f']);
      spec.linux.namespaces.push({ type: 'user', path: `/proc/${pid}/ns/user` });
      spec.mounts.push({ source: src, destination: '/mnt/idm', options: ['rbind', 'idmap'] });
      const r = tsoci(['run', '--bundle', bundleOf(spec, remap), uniqueId('joinidm')]);
      expect(r.stderr).toBe('');
      // host 100:211 through the namespace's own maps (0 -> 100000, 0 -> 200000) and back inside
      expect(r.stdout).toBe('100=211\n');
    } finally {
      fs.rmSync(src, { recursive: true, force: true });
    }
  });

  test('a namespace path that is not a namespace: one error line, exit 1, nothing left behind', () => {
    const spec = testSpec(['true']);
    spec.linux.namespaces = spec.linux.namespaces.map((n: any) => (n.type === 'ipc' ? { type: 'ipc', path: '/proc/self/status' } : n));
    const id = uniqueId('badns');
    const bundle = bundleOf(spec);
    const before = snapshot(TEST_ROOT);
    const r = tsoci(['run', '--bundle', bundle, id]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('/proc/self/status');
    expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
    expect(leftovers(before, id, bundle)).toEqual([]);
  });
});

describe('kill and delete of a container in the host\'s PID namespace (runc kill.bats, delete.bats)', () => {
  const hostPid = (s: Record<string, any>) => { s.linux.namespaces = s.linux.namespaces.filter((n: any) => n.type !== 'pid'); };

  /** A host-pidns container with its init and three more processes (exec -d). */
  function hostPidnsContainer(): { id: string; init: number; pids: number[] } {
    const id = uniqueId('hostpid');
    const init = target(id, hostPid);
    for (let i = 0; i < 3; i++) ok(['exec', '-d', id, 'sleep', '1001']);
    const pids = psPids(id);
    expect(pids).toHaveLength(4);
    expect(pids).toContain(init);
    return { id, init, pids };
  }

  test('kill KILL kills every process of the container, not just its init', () => {
    const { id, pids } = hostPidnsContainer();
    ok(['kill', id, 'KILL']);
    expect(waitGone(pids)).toEqual([]);
    expect(stateOf(id).status).toBe('stopped');
    expect(psPids(id)).toEqual([]);
  });

  test('kill KILL once the init is gone: the remaining processes are killed', () => {
    const { id, init, pids } = hostPidnsContainer();
    process.kill(init, 'SIGKILL');
    expect(waitGone([init])).toEqual([]);
    expect(stateOf(id).status).toBe('stopped');
    expect(psPids(id)).toHaveLength(3);
    ok(['kill', id, 'KILL']);
    expect(waitGone(pids)).toEqual([]);
    expect(psPids(id)).toEqual([]);
    // the (empty) cgroup stays until delete: a further KILL is no error, as with runc
    expect(tsoci(['kill', id, 'KILL']).status).toBe(0);
  });

  test('kill --all TERM once the init is gone reaches the remaining processes; kill TERM alone says not running', () => {
    const { id, init, pids } = hostPidnsContainer();
    process.kill(init, 'SIGKILL');
    expect(waitGone([init])).toEqual([]);
    const plain = tsoci(['kill', id, 'TERM']);
    expect(plain.status).toBe(1);
    expect(plain.stderr).toContain('container not running');
    ok(['kill', '--all', id, 'TERM']);
    expect(waitGone(pids)).toEqual([]);
  });

  test('delete --force once the init is gone kills the remaining processes and removes everything', () => {
    const { id, init, pids } = hostPidnsContainer();
    const before = snapshot(TEST_ROOT);
    process.kill(init, 'SIGKILL');
    expect(waitGone([init])).toEqual([]);
    ok(['delete', '--force', id]);
    expect(waitGone(pids, 2000)).toEqual([]);
    expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
    expect(leftovers(before, id)).toEqual([]);
  });

  test('delete (no --force) of a stopped one whose init is gone kills the rest too', () => {
    const { id, init, pids } = hostPidnsContainer();
    process.kill(init, 'SIGKILL');
    expect(waitGone([init])).toEqual([]);
    ok(['delete', id]);
    expect(waitGone(pids, 2000)).toEqual([]);
  });

  test('a container joining another one\'s PID and user namespaces: kill 9, then delete --force both', () => {
    const tgt = uniqueId('tgt');
    const pid = target(tgt, (s) => { s.linux.namespaces.push({ type: 'user' }); Object.assign(s.linux, USERNS_MAPS); }, remap);
    const att = uniqueId('att');
    target(att, (s) => {
      s.linux.namespaces = s.linux.namespaces.map((n: any) => (n.type === 'pid' ? { type: 'pid', path: `/proc/${pid}/ns/pid` } : n));
      s.linux.namespaces.push({ type: 'user', path: `/proc/${pid}/ns/user` });
    }, remap);
    const attPids = psPids(att);
    ok(['kill', att, '9']);
    expect(waitGone(attPids)).toEqual([]);
    expect(stateOf(tgt).status).toBe('running');
    ok(['delete', '--force', att]);
    ok(['delete', '--force', tgt]);
    expect(waitGone([pid])).toEqual([]);
  });

  test('own PID namespace: kill of a stopped container is "container not running"; with --all it is no error', () => {
    const id = uniqueId('own');
    target(id);
    ok(['kill', id, 'KILL']);
    const end = Date.now() + 10000;
    while (stateOf(id).status !== 'stopped' && Date.now() < end) sleepMs(20);
    const r = tsoci(['kill', id, '0']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('container not running');
    expect(tsoci(['kill', '--all', id, '0']).status).toBe(0);
    ok(['delete', id]);
  });
});
