import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { createTestUser, removeTestUser, rootlessUnavailable, runAs, type TestUser } from '../helpers/rootless-user';
import { testSpec } from '../helpers/spec';
import { deleteAll, tsoci, uniqueId, REPO, TEST_ROOT, TSOCI, type Result } from '../helpers/tsoci';
import { coldEnv, poolDir, TestPool } from '../helpers/warm';

// The warm handoff's refusals and faults: a caller the worker must not serve goes cold (same
// result as without a pool), and a worker or launcher that dies leaves nothing hanging.

jest.setTimeout(120000);

let pool: TestPool;
const cleanup: string[] = [];

beforeAll(async () => {
  pool = new TestPool(poolDir(), 2);
  await pool.waitIdle(2);
});

afterAll(async () => {
  await pool.stop();
  deleteAll();
  for (const d of cleanup) fs.rmSync(d, { recursive: true, force: true });
  fs.rmSync(path.dirname(pool.dir), { recursive: true, force: true });
});

afterEach(() => deleteAll());

const sock = () => path.join(pool.dir, 'pool.sock');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A client that speaks the protocol without the launcher's own checks: prints the worker's answer. */
const RAW_CLIENT = `
import os, socket, struct, sys
path, build = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
body = b'\\0'.join([build.encode(), b'/', b'22', ('%d:' % os.getpid()).encode(), b'1', b'list', b'PATH=/usr/bin:/bin']) + b'\\0'
s.sendmsg([b'TSOCIW1\\0' + struct.pack('II', len(body), 3)], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack('3i', 0, 1, 2))])
s.sendall(body)
data = b''
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data[:1].decode() + '|' + (data[1:].decode().strip() if data[:1] == b'R' else ''))
`;
const buildId = () => fs.readFileSync(path.join(REPO, 'dist', 'build-id'), 'utf8').trim();

function refusedSince(n: number): string[] {
  return pool.refused().slice(n).map((e) => e.reason ?? '');
}

describe('a caller the worker must not serve goes cold', () => {
  test('another mount namespace (unshare -m): refused, same result as cold', async () => {
    const args = ['--root', TEST_ROOT, 'state', 'nosuch-warm'];
    const c = spawnSync('unshare', ['-m', TSOCI, ...args], { encoding: 'utf8', env: coldEnv() });
    const n = pool.refused().length;
    const { result: w, commands } = await pool.track(() => spawnSync('unshare', ['-m', TSOCI, ...args], { encoding: 'utf8', env: pool.env() }), 0);
    expect(commands).toEqual([]);
    expect([w.status, w.stdout, w.stderr]).toEqual([c.status, c.stdout, c.stderr]);
    expect(c.status).toBe(1);
    expect(refusedSince(n)).toEqual(['caller in another mnt namespace']);
  });

  test('another user namespace (unshare -Ur): refused, same result as cold', async () => {
    const args = ['--root', TEST_ROOT, 'state', 'nosuch-warm'];
    const c = spawnSync('unshare', ['-Ur', TSOCI, ...args], { encoding: 'utf8', env: coldEnv() });
    const n = pool.refused().length;
    const { result: w, commands } = await pool.track(() => spawnSync('unshare', ['-Ur', TSOCI, ...args], { encoding: 'utf8', env: pool.env({ TSOCI_WARM_DEBUG: '1' }) }), 0);
    expect(commands).toEqual([]);
    expect(refusedSince(n)).toEqual(['caller in another user namespace']);
    expect(w.stderr).toBe(`tsoci: warm: cold path: refused by the worker\n${c.stderr}`);
    expect([w.status, w.stdout]).toEqual([c.status, c.stdout]);
  });

  test('a caller with fewer capabilities or other groups: refused, same result as cold', async () => {
    const args = ['--root', TEST_ROOT, 'state', 'nosuch-warm'];
    for (const [prefix, reason] of [
      [['setpriv', '--bounding-set=-sys_ptrace', '--'], 'caller has other credentials (CapPrm)'], // root's permitted set is cut by the bounding set at exec
      [['setpriv', '--groups=1,2', '--'], 'caller has other credentials (Groups)'],
    ] as [string[], string][]) {
      await pool.waitIdle(1);
      const c = spawnSync(prefix[0], [...prefix.slice(1), TSOCI, ...args], { encoding: 'utf8', env: coldEnv() });
      const n = pool.refused().length;
      const { result: w, commands } = await pool.track(() => spawnSync(prefix[0], [...prefix.slice(1), TSOCI, ...args], { encoding: 'utf8', env: pool.env() }), 0);
      expect(commands).toEqual([]);
      expect([w.status, w.stdout, w.stderr]).toEqual([c.status, c.stdout, c.stderr]);
      expect(refusedSince(n)).toEqual([reason]);
    }
  });

  test('checkpoint, restore and an environment the worker read at load time are not served warm', async () => {
    for (const [args, env, reason] of [
      [['checkpoint', 'nosuch-warm'], {}, 'command checkpoint is not served warm'],
      [['restore', 'nosuch-warm'], {}, 'command restore is not served warm'],
      [['state', 'nosuch-warm'], { TSOCI_FAULT: 'none' }, 'TSOCI_FAULT differs from the worker\'s'],
    ] as [string[], NodeJS.ProcessEnv, string][]) {
      await pool.waitIdle(1);
      const c = tsoci(args, { env: coldEnv(env) });
      const n = pool.refused().length;
      const { result: w, commands } = await pool.track(() => tsoci(args, { env: pool.env(env) }), 0);
      expect(commands).toEqual([]);
      expect(w).toEqual(c);
      expect(refusedSince(n)).toEqual([reason]);
    }
  });

  test('a request of another build is refused; one whose caller gives up before "go" is not run', async () => {
    await pool.waitIdle(1);
    let n = pool.refused().length;
    const bad = spawnSync('python3', ['-c', RAW_CLIENT, sock(), 'another-build'], { encoding: 'utf8' });
    expect(bad.stdout).toBe(`R|build mismatch (caller another-build, worker ${buildId()})\n`);
    await pool.track(() => undefined, 0);
    expect(refusedSince(n)).toEqual([`build mismatch (caller another-build, worker ${buildId()})`]);
    // the right build, but the client never says "go": the worker must not run `list`
    n = pool.refused().length;
    const { result: gaveUp, commands } = await pool.track(() => spawnSync('python3', ['-c', RAW_CLIENT, sock(), buildId()], { encoding: 'utf8' }), 0);
    expect(gaveUp.stdout.startsWith('A|')).toBe(true);
    expect(commands).toEqual([]);
    expect(refusedSince(n)).toEqual(['the caller gave up before the worker accepted']);
  });

  describe('a peer of another uid', () => {
    const why = rootlessUnavailable();
    let u: TestUser;
    beforeAll(() => {
      if (why) return;
      u = createTestUser('tswm');
      // let the user reach the socket: the worker's own check is what is tested
      fs.chmodSync(path.dirname(pool.dir), 0o755);
      fs.chmodSync(pool.dir, 0o755);
      fs.chmodSync(sock(), 0o666);
    });
    afterAll(() => {
      if (why) return;
      fs.chmodSync(sock(), 0o600);
      fs.chmodSync(pool.dir, 0o700);
      fs.chmodSync(path.dirname(pool.dir), 0o700);
      removeTestUser(u);
    });

    test('is refused by the worker, and its launcher does not even send its request', async () => {
      if (why) return console.log(`skipped: ${why}`);
      await pool.waitIdle(1);
      let n = pool.refused().length;
      const raw = runAs(u, ['python3', '-c', RAW_CLIENT, sock(), buildId()]);
      expect(raw.stdout).toBe(`R|caller uid ${u.uid} is not ours\n`);
      await pool.track(() => undefined, 0);
      expect(refusedSince(n)).toEqual([`caller uid ${u.uid} is not ours`]);
      n = pool.refused().length;
      const cold = runAs(u, [u.tsoci, 'list']);
      const { result: w, commands } = await pool.track(() => runAs(u, [u.tsoci, 'list'], { env: { TSOCI_WARM_DIR: pool.dir, TSOCI_WARM_DEBUG: '1' } }), 0);
      expect(commands).toEqual([]);
      expect(refusedSince(n)).toEqual([]);
      expect(w.stderr).toBe(`tsoci: warm: cold path: the pool's socket belongs to another user or is not a socket\n${cold.stderr}`);
      expect([w.status, w.stdout]).toEqual([cold.status, cold.stdout]);
    });
  });
});

describe('faults', () => {
  test('no worker takes the request in time (workers stopped, a wait of 10 ms): cold, and the stale request is never run', async () => {
    await pool.waitIdle(2);
    const idle = pool.idle();
    for (const pid of idle) process.kill(pid, 'SIGSTOP');
    const n = pool.refused().length;
    let w: Result;
    try {
      w = tsoci(['state', 'nosuch-warm'], { env: pool.env({ TSOCI_WARM_WAIT_MS: '10' }) });
    } finally {
      for (const pid of idle) process.kill(pid, 'SIGCONT');
    }
    const c = tsoci(['state', 'nosuch-warm'], { env: coldEnv() });
    expect(w).toEqual(c);
    await sleep(300);
    const { commands } = await pool.track(() => undefined, 0);
    expect(commands).toEqual([]);
    expect(refusedSince(n)).toEqual(['the caller gave up before the worker accepted']);
  });

  test('supervisor SIGKILLed after a command: every idle worker ends (the ones that lost the race for it too)', async () => {
    const own = new TestPool(poolDir(), 3);
    cleanup.push(path.dirname(own.dir));
    await own.waitIdle(3);
    const { commands } = await own.track(() => tsoci(['list', '-q'], { env: own.env() }));
    expect(commands).toEqual(['list']);
    await own.waitIdle(3);
    // all three wake for one connection (stopped while it came, then continued): two lose it
    const idle = own.idle();
    for (const pid of idle) process.kill(pid, 'SIGSTOP');
    tsoci(['list', '-q'], { env: own.env({ TSOCI_WARM_WAIT_MS: '10' }) });
    for (const pid of idle) process.kill(pid, 'SIGCONT');
    await sleep(300);
    const workers = own.events.filter((e) => e.event === 'ready').map((e) => e.pid);
    await own.killSupervisor();
    const alive = () => workers.filter(running);
    for (let i = 0; i < 100 && alive().length > 0; i++) await sleep(30);
    expect(alive()).toEqual([]);
  });

  test('a stale socket (nobody listening): cold', async () => {
    const dir = poolDir();
    cleanup.push(path.dirname(dir));
    fs.mkdirSync(dir, { mode: 0o700 });
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(path.join(dir, 'pool.sock'), r));
    // close the listening fd but keep the file: connect() then gives ECONNREFUSED
    (server as unknown as { _handle: { close(): void } })._handle.close();
    const w = tsoci(['state', 'nosuch-warm'], { env: { ...process.env, TSOCI_WARM_DIR: dir } });
    expect(w).toEqual(tsoci(['state', 'nosuch-warm'], { env: coldEnv() }));
  });

  test('worker SIGKILLed mid-create: the launcher exits 1 at once, delete --force cleans up', async () => {
    const b = makeBundle(testSpec(['sleep', '100'], { hooks: { createRuntime: [{ path: '/bin/sleep', args: ['sleep', '2'] }] } }));
    cleanup.push(b);
    await pool.waitIdle(1);
    await pool.track(() => undefined, 0);
    const before = pool.accepted().length;
    const id = uniqueId('wkill');
    const child = spawn(TSOCI, ['--root', TEST_ROOT, 'create', '--bundle', b, id], { stdio: ['ignore', 'ignore', 'pipe'], env: pool.env() });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    while (pool.accepted().length === before) await sleep(10);
    const worker = pool.accepted()[before];
    expect(worker.command).toBe('create');
    await sleep(700); // in the hook: the init is spawned, the container half made
    process.kill(worker.pid, 'SIGKILL');
    const t0 = Date.now();
    expect(await exited).toBe(1);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(stderr).toBe(`warm worker ${worker.pid} ended during the command\n`);
    const d = tsoci(['delete', '--force', id], { env: coldEnv() });
    expect(d.status).toBe(0);
    expect(tsoci(['state', id], { env: coldEnv() }).status).toBe(1);
    await sleep(2000); // the hook's sleep, orphaned with the worker
  });

  test('launcher SIGKILLed during a foreground run: its worker ends too', async () => {
    const b = makeBundle(testSpec(['sh', '-c', 'echo ready; sleep 100']));
    cleanup.push(b);
    await pool.waitIdle(1);
    await pool.track(() => undefined, 0);
    const before = pool.accepted().length;
    const id = uniqueId('wlk');
    const child = spawn(TSOCI, ['--root', TEST_ROOT, 'run', '--bundle', b, id], { stdio: ['ignore', 'pipe', 'ignore'], env: pool.env() });
    await new Promise<void>((r) => child.stdout!.on('data', () => r()));
    while (pool.accepted().length === before) await sleep(10);
    const worker = pool.accepted()[before].pid;
    child.kill('SIGKILL');
    let alive = true;
    for (let i = 0; i < 100 && alive; i++) {
      await sleep(30);
      alive = running(worker);
    }
    expect(alive).toBe(false);
    expect(tsoci(['delete', '--force', id], { env: coldEnv() }).status).toBe(0);
  });
});

afterAll(() => {
  for (const d of cleanup) if (d.includes('bundle')) removeBundle(d);
});

/** Whether the process exists and is not a zombie (it may exit between two reads of /proc: gone). */
function running(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}
