import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, stateOf, tsoci, uniqueId, TEST_ROOT, TSOCI } from '../helpers/tsoci';

// `tsoci exec` into a running container: namespaces, cgroups, credentials, flags, status.

const NS = ['pid', 'net', 'ipc', 'uts', 'mnt', 'cgroup', 'user', 'time'];

function waitFor(cond: () => boolean, timeoutMs = 10000): void {
  const end = Date.now() + timeoutMs;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    Atomics.wait(sleeper, 0, 0, 20);
  }
}

function statusField(pid: number, field: string): string {
  return new RegExp(`^${field}:\\s+(.*)$`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';
}

/** The container's processes as its own `ps` sees them: "pid args" lines. */
function containerPs(id: string): string[] {
  const r = tsoci(['exec', id, 'ps', '-o', 'pid,args']);
  return r.stdout.trim().split('\n').slice(1).map((l) => l.trim());
}

describe('exec into a running container', () => {
  let bundle: string;
  let id: string;
  let initPid: number;
  beforeAll(() => {
    const spec = testSpec(['sleep', '600']);
    spec.linux.namespaces.push({ type: 'user' }, { type: 'time' });
    spec.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    spec.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    spec.process.user = { uid: 0, gid: 0, additionalGids: [5] };
    spec.process.noNewPrivileges = false;
    bundle = makeBundle(spec);
    fs.chmodSync(bundle, 0o755);
    id = uniqueId('exec');
    const r = tsoci(['run', '-d', '--bundle', bundle, id]);
    if (r.status !== 0) throw new Error(`run -d failed: ${r.stderr}`);
    initPid = stateOf(id).pid;
  });
  afterAll(() => {
    deleteAll();
    removeBundle(bundle);
  });

  test('tsoci exec <id> sh -c "echo hi": words after the id belong to the command, even flag-like ones', () => {
    expect(tsoci(['exec', id, 'sh', '-c', 'echo hi'])).toMatchObject({ status: 0, stdout: 'hi\n', stderr: '' });
    expect(tsoci(['exec', id, 'echo', '--env', 'X=1', '-u', '5', '--cwd']).stdout).toBe('--env X=1 -u 5 --cwd\n');
    expect(tsoci(['exec', id, 'sh', '-c', 'echo "$0 $1"', '--root', '-d']).stdout).toBe('--root -d\n');
  });

  test("the exec is in every namespace of the container's init (same /proc/self/ns inodes)", () => {
    const r = tsoci(['exec', id, 'sh', '-c', NS.map((n) => `echo ${n}=$(readlink /proc/self/ns/${n})`).join('; ')]);
    expect(r.stderr).toBe('');
    for (const n of NS) {
      const inside = new RegExp(`^${n}=(.*)$`, 'm').exec(r.stdout)?.[1];
      expect(inside).toBe(fs.readlinkSync(`/proc/${initPid}/ns/${n}`));
      expect(inside).not.toBe(fs.readlinkSync(`/proc/self/ns/${n}`));
    }
  });

  test("the exec is in the container's cgroups; from the inside it sees what the init sees", () => {
    const inside = tsoci(['exec', id, 'sh', '-c', 'cat /proc/self/cgroup; echo ---; cat /proc/1/cgroup']).stdout.split('---\n');
    expect(inside[0]).toBe(inside[1]);
    const pidFile = path.join(bundle, 'cg.pid');
    expect(tsoci(['exec', '-d', '--pid-file', pidFile, id, 'sleep', '30']).status).toBe(0);
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    expect(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toBe(fs.readFileSync(`/proc/${initPid}/cgroup`, 'utf8'));
    process.kill(pid, 'SIGKILL');
  });

  test("by default the exec has the container process's user, groups and capabilities", () => {
    const pidFile = path.join(bundle, 'cred.pid');
    expect(tsoci(['exec', '-d', '--pid-file', pidFile, id, 'sleep', '30']).status).toBe(0);
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    for (const f of ['Uid', 'Gid', 'Groups', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs']) expect([f, statusField(pid, f)]).toEqual([f, statusField(initPid, f)]);
    expect(tsoci(['exec', id, 'id']).stdout).toBe('uid=0(root) gid=0(root) groups=5(tty)\n');
    process.kill(pid, 'SIGKILL');
  });

  test('--user uid:gid, and --user uid keeps the process gid (runc)', () => {
    expect(tsoci(['exec', '--user', '1000:1000', id, 'sh', '-c', 'echo $(id -u) $(id -g)']).stdout).toBe('1000 1000\n');
    expect(tsoci(['exec', '-u', '1000', id, 'sh', '-c', 'echo $(id -u) $(id -g)']).stdout).toBe('1000 0\n');
    expect(tsoci(['exec', '--user', 'bob', id, 'true']).stderr).toContain('exec failed: bad uid: strconv.Atoi: parsing "bob": invalid syntax');
  });

  test('--additional-gids adds to the process groups', () => {
    expect(tsoci(['exec', '--additional-gids', '10', '-g', '20', id, 'id', '-G']).stdout).toBe('0 5 10 20\n');
    expect(tsoci(['exec', '-g', 'x', id, 'true']).stderr).toContain('additional-gids must be a positive number x');
  });

  test('--env adds to the environment, --cwd sets the directory', () => {
    const r = tsoci(['exec', '--env', 'FOO=bar', '-e', 'BAZ=1', '--cwd', '/tmp', id, 'sh', '-c', 'echo $FOO $BAZ $TERM; pwd']);
    expect(r.stdout).toBe('bar 1 xterm\n/tmp\n');
    expect(tsoci(['exec', '--cwd', '/nonexistent', id, 'true']).stderr).toContain('/nonexistent');
  });

  test('--cap adds a capability to the bounding, effective and permitted sets', () => {
    const capEff = (out: string) => BigInt(`0x${/^CapEff:\s+(\w+)/m.exec(out)?.[1]}`);
    const without = capEff(tsoci(['exec', id, 'cat', '/proc/self/status']).stdout);
    const withCap = capEff(tsoci(['exec', '--cap', 'CAP_SYS_ADMIN', id, 'cat', '/proc/self/status']).stdout);
    expect(without & (1n << 21n)).toBe(0n);
    expect(withCap & (1n << 21n)).toBe(1n << 21n);
    // a capability the container's user namespace gives: mount a tmpfs
    expect(tsoci(['exec', id, 'mount', '-t', 'tmpfs', 't', '/mnt']).status).not.toBe(0);
  });

  test('--no-new-privs sets no_new_privs; the container default here is off', () => {
    expect(tsoci(['exec', id, 'grep', 'NoNewPrivs', '/proc/self/status']).stdout).toMatch(/NoNewPrivs:\s+0/);
    expect(tsoci(['exec', '--no-new-privs', id, 'grep', 'NoNewPrivs', '/proc/self/status']).stdout).toMatch(/NoNewPrivs:\s+1/);
  });

  test('--process file.json runs that process as given', () => {
    const file = path.join(bundle, 'process.json');
    fs.writeFileSync(file, JSON.stringify({
      args: ['sh', '-c', 'echo "$(id -u):$(id -g) $(pwd) $ONLY"; grep NoNewPrivs /proc/self/status'],
      env: ['ONLY=this', 'PATH=/bin'],
      cwd: '/etc',
      user: { uid: 33, gid: 44 },
      noNewPrivileges: true,
    }));
    const r = tsoci(['exec', '--process', file, id]);
    expect(r.stderr).toBe('');
    expect(r.stdout.replace(/\t/g, ' ')).toBe('33:44 /etc this\nNoNewPrivs: 1\n');
    fs.writeFileSync(file, JSON.stringify({ args: [], cwd: '/' }));
    expect(tsoci(['exec', '-p', file, id]).status).toBe(255); // runc: exec failures exit 255
  });

  test('--detach returns at once; --pid-file holds a host pid that is in the container (its ps shows it)', () => {
    const pidFile = path.join(bundle, 'detached.pid');
    const t0 = Date.now();
    const r = tsoci(['exec', '--detach', '--pid-file', pidFile, id, 'sleep', '1234']);
    expect(r.status).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toBe('sleep\x001234\x00');
    expect(fs.readlinkSync(`/proc/${pid}/ns/pid`)).toBe(fs.readlinkSync(`/proc/${initPid}/ns/pid`));
    // NSpid: host pid, then the pid inside the container
    const inner = Number(statusField(pid, 'NSpid').split(/\s+/)[1]);
    expect(containerPs(id)).toContain(`${inner} sleep 1234`);
    process.kill(pid, 'SIGKILL');
    waitFor(() => !containerPs(id).some((l) => l.endsWith('sleep 1234')));
  });

  test("a foreground exec returns the process's exit status, 128+signal when killed", () => {
    expect(tsoci(['exec', id, 'sh', '-c', 'exit 7']).status).toBe(7);
    expect(tsoci(['exec', id, 'sh', '-c', 'kill -9 $$']).status).toBe(137);
    expect(tsoci(['exec', id, 'sh', '-c', 'kill -TERM $$']).status).toBe(143);
  });

  test('a foreground exec forwards signals to the process', async () => {
    const child = spawn(TSOCI, ['--root', TEST_ROOT, 'exec', id, 'sh', '-c', 'trap "echo got-usr1; exit 3" USR1; echo ready; while true; do sleep 0.1; done'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const end = Date.now() + 10000;
    while (!out.includes('ready') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGUSR1');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(out).toContain('got-usr1');
    expect(code).toBe(3);
  });

  test('a command that does not exist: runc\'s message, nothing left running in the container', () => {
    // host pids in the container's PID namespace (earlier tests' stragglers may still go away)
    const pidNs = fs.readlinkSync(`/proc/${initPid}/ns/pid`);
    const inContainer = () => new Set(fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return fs.readlinkSync(`/proc/${p}/ns/pid`) === pidNs;
      } catch {
        return false;
      }
    }));
    const before = inContainer();
    const r = tsoci(['exec', id, 'no-such-command']);
    expect(r.status).toBe(255);
    expect(r.stderr).toContain('exec: "no-such-command": executable file not found in $PATH');
    expect([...inContainer()].filter((p) => !before.has(p))).toEqual([]);
    expect(fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'tsoci-init' && fs.readFileSync(`/proc/${p}/cgroup`, 'utf8').includes(id);
      } catch {
        return false;
      }
    })).toEqual([]);
  });
});

describe('exec errors', () => {
  test('exec into an unknown container', () => {
    const r = tsoci(['exec', 'no-such-container-xyz', 'true']);
    expect(r.status).toBe(255);
    expect(r.stderr).toContain('container "no-such-container-xyz" does not exist');
  });

  test('exec into a stopped container', () => {
    const bundle = makeBundle(testSpec(['true']));
    try {
      const id = uniqueId('stopped');
      expect(tsoci(['run', '-d', '--bundle', bundle, id]).status).toBe(0);
      waitFor(() => stateOf(id).status === 'stopped');
      const r = tsoci(['exec', id, 'true']);
      expect(r.status).toBe(255);
      expect(r.stderr).toContain('cannot exec in a stopped container');
      expect(tsoci(['delete', id]).status).toBe(0);
    } finally {
      removeBundle(bundle);
    }
  });

  test('exec without a command', () => {
    const bundle = makeBundle(testSpec(['sleep', '600']));
    try {
      const id = uniqueId('nocmd');
      expect(tsoci(['run', '-d', '--bundle', bundle, id]).status).toBe(0);
      expect(tsoci(['exec', id]).stderr).toMatch(/command|process/);
      expect(tsoci(['delete', '--force', id]).status).toBe(0);
    } finally {
      removeBundle(bundle);
    }
  });
});
