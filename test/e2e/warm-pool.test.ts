import * as fs from 'fs';
import * as path from 'path';
import { createTestUser, removeTestUser, rootlessUnavailable, runAs, type TestUser } from '../helpers/rootless-user';
import { REPO, tsoci } from '../helpers/tsoci';
import { alive, ask, BROKEN, poolStatus, STANDIN_WORKER, STANDIN_ZYGOTE, until, warm } from '../helpers/warm-pool';

// The warm pool's supervisor and `tsoci warm start|stop|status`, with a stand-in zygote and
// workers (test/fixtures/warm-standin-*.js) that follow the contract's events: these tests
// are about the supervisor (directory, socket, workers, counts, faults), not the handoff.

let n = 0;
const dirs: string[] = [];
function newDir(): string {
  const d = `/run/tsoci-warm-test-${process.pid}-${n++}`;
  dirs.push(d);
  return d;
}

function mode(p: string): number {
  return fs.lstatSync(p).mode & 0o7777;
}

afterEach(() => {
  for (const d of dirs.splice(0)) {
    if (fs.existsSync(path.join(d, 'supervisor.pid'))) warm(d, ['stop']);
    fs.rmSync(d, { recursive: true, force: true });
  }
});

describe('warm start/status/stop', () => {
  test('start makes the directory 0700 and the socket 0600, reports N ready workers; stop removes everything', async () => {
    const dir = newDir();
    const r = warm(dir, ['start', '--workers', '3'], { zygote: STANDIN_ZYGOTE });
    expect(r).toMatchObject({ status: 0, stdout: '', stderr: '' });
    expect(mode(dir)).toBe(0o700);
    expect(fs.lstatSync(path.join(dir, 'pool.sock')).isSocket()).toBe(true);
    expect(mode(path.join(dir, 'pool.sock'))).toBe(0o600);
    expect(mode(path.join(dir, 'status.json'))).toBe(0o600);
    expect(mode(path.join(dir, 'supervisor.pid'))).toBe(0o600);
    const s = poolStatus(dir);
    expect(s).toMatchObject({ state: 'running', workersWanted: 3, socket: path.join(dir, 'pool.sock'), respawns: 0, served: {}, fallbacks: {} });
    expect(s.workers.map((w) => w.state)).toEqual(['ready', 'ready', 'ready']);
    expect(s.memory.supervisorKiB).toBeGreaterThan(0);
    expect(s.memory.workersKiB).toBeGreaterThan(0);
    // the supervisor is a daemon: its own session, stdio on /dev/null
    const stat = fs.readFileSync(`/proc/${s.supervisorPid}/stat`, 'utf8').slice(fs.readFileSync(`/proc/${s.supervisorPid}/stat`, 'utf8').lastIndexOf(')') + 2).split(' ');
    expect(Number(stat[3])).toBe(s.supervisorPid); // session id
    for (const fd of [0, 1, 2]) expect(fs.readlinkSync(`/proc/${s.supervisorPid}/fd/${fd}`)).toBe('/dev/null');
    // a worker: fds 0-2 /dev/null, 3 the listening socket, 4 the event channel, nothing else of the supervisor's
    const w = s.workers[0].pid;
    for (const fd of [0, 1, 2]) expect(fs.readlinkSync(`/proc/${w}/fd/${fd}`)).toBe('/dev/null');
    expect(fs.readlinkSync(`/proc/${w}/fd/3`)).toMatch(/^socket:/);
    expect(fs.readlinkSync(`/proc/${w}/fd/4`)).toMatch(/^socket:/);
    expect(fs.readlinkSync(`/proc/${w}/cwd`)).toBe('/');
    expect(fs.readFileSync(`/proc/${w}/environ`, 'utf8').split('\0').filter(Boolean).map((e) => e.split('=')[0]).sort()).toEqual(['PATH', 'TSOCI_WARM_ROLE']);

    const table = warm(dir, ['status']);
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/workers\s+3 ready of 3/);
    expect(table.stdout).toMatch(/memory\s+[\d.]+ MiB resident/);

    const pids = [s.supervisorPid, ...s.workers.map((x) => x.pid)];
    expect(warm(dir, ['stop'])).toMatchObject({ status: 0, stdout: '', stderr: '' });
    expect(pids.filter(alive)).toEqual([]);
    expect(fs.existsSync(dir)).toBe(false);
  });

  test('each command a worker takes is counted and replaced at once; refusals are counted as fallbacks by reason', async () => {
    const dir = newDir();
    expect(warm(dir, ['start'], { zygote: STANDIN_ZYGOTE }).status).toBe(0);
    const sock = path.join(dir, 'pool.sock');
    expect(await ask(sock, 'state')).toMatch(/^served state by \d+$/);
    expect(await ask(sock, 'refuse other uid')).toBe('refused');
    expect(await ask(sock, 'create')).toMatch(/^served create by \d+$/);
    expect(await ask(sock, 'state')).toMatch(/^served state by \d+$/);
    await until(() => {
      const s = poolStatus(dir);
      return s.respawns === 3 && s.workers.filter((w) => w.state === 'ready').length === 2;
    }, 15000, 'three replacements ready');
    const s = poolStatus(dir);
    expect(s.served).toEqual({ state: 2, create: 1 });
    expect(s.fallbacks).toEqual({ 'other uid': 1 });
    expect(s.workers).toHaveLength(2);
    expect(warm(dir, ['stop']).status).toBe(0);
  });

  test('a second start, a stop or status without a pool, bad arguments: one error line, exit 1', () => {
    const dir = newDir();
    expect(warm(dir, ['stop'])).toMatchObject({ status: 1, stdout: '', stderr: `warm pool is not running (${dir})\n` });
    expect(warm(dir, ['status'])).toMatchObject({ status: 1, stderr: `warm pool is not running (${dir})\n` });
    expect(warm(dir, ['start', '--workers', '0']).stderr).toBe('invalid --workers value "0": want a whole number from 1 to 64\n');
    expect(warm(dir, ['restart'])).toMatchObject({ status: 1, stderr: 'warm: unknown action "restart" (want start, stop or status)\n' });
    expect(fs.existsSync(dir)).toBe(false);
    expect(warm(dir, ['start'], { zygote: STANDIN_ZYGOTE }).status).toBe(0);
    const pid = poolStatus(dir).supervisorPid;
    expect(warm(dir, ['start'], { zygote: STANDIN_ZYGOTE })).toMatchObject({ status: 1, stdout: '', stderr: `warm pool is already running (pid ${pid}, ${dir})\n` });
    expect(poolStatus(dir).supervisorPid).toBe(pid);
    expect(warm(dir, ['stop']).status).toBe(0);
  });
});

describe('with the real worker (src/warm/worker.ts) and launcher', () => {
  test('commands are served and counted; with the supervisor killed, its workers exit and commands run cold', async () => {
    const dir = newDir();
    const coldCache = fs.readFileSync(path.join(REPO, 'dist', 'tsoci.js.cache'));
    expect(warm(dir, ['start'])).toMatchObject({ status: 0, stdout: '', stderr: '' });
    const env = { ...process.env, TSOCI_WARM_DIR: dir };
    const ready = () => poolStatus(dir).workers.filter((w) => w.state === 'ready').length === 2;
    await until(ready, 10000, 'two ready workers');
    const first = poolStatus(dir);
    for (const args of [['features'], ['state', 'no-such-container'], ['checkpoint', 'no-such-container']]) {
      await until(ready, 10000, 'two ready workers');
      tsoci(args, { env });
    }
    await until(ready, 10000, 'two ready workers');
    const s = poolStatus(dir);
    // checkpoint is never served warm: the launcher does not even ask
    expect(s.served).toEqual({ features: 1, state: 1 });
    expect(s.respawns).toBe(2);
    expect(s.memory.totalKiB).toBeGreaterThan(s.memory.supervisorKiB);
    // every worker, the replacements too, is forked by the one zygote, which stays
    expect(s.zygotePid).toBe(first.zygotePid);
    for (const w of s.workers) expect(parentOf(w.pid)).toBe(s.zygotePid);
    expect(parentOf(s.zygotePid!)).toBe(s.supervisorPid);
    // the zygote's V8 flags have their own code cache: the cold path's is left as it was (a worker writes none)
    expect(fs.existsSync(path.join(REPO, 'dist', 'tsoci.js.zygote-cache'))).toBe(true);
    expect(fs.readFileSync(path.join(REPO, 'dist', 'tsoci.js.cache')).equals(coldCache)).toBe(true);

    process.kill(s.supervisorPid, 'SIGKILL');
    await until(() => ![s.supervisorPid, s.zygotePid!, ...s.workers.map((w) => w.pid)].some(alive), 5000, 'the supervisor, the zygote and its workers to exit');
    const t0 = Date.now();
    const cold = tsoci(['state', 'no-such-container'], { env });
    expect(cold.status).toBe(1);
    expect(cold.stderr).toMatch(/no-such-container/);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(warm(dir, ['start']).status).toBe(0);
    expect(warm(dir, ['stop']).status).toBe(0);
  });
});

describe('the pool directory and socket are refused unless they are ours alone', () => {
  test.each([
    ['group/other access', (d: string) => fs.mkdirSync(d, { mode: 0o755 }), /has mode 0755, group or others have access: refusing to use it \(want 0700\)/],
    ['another owner', (d: string) => {
      fs.mkdirSync(d, { mode: 0o700 });
      fs.chownSync(d, 65534, 65534);
    }, /is owned by uid 65534, not 0: refusing to use it/],
    ['a symlink', (d: string) => {
      fs.mkdirSync(`${d}-target`, { mode: 0o700 });
      dirs.push(`${d}-target`);
      fs.symlinkSync(`${d}-target`, d);
    }, /is a symlink: refusing to use it/],
  ])('%s', (_what, make, message) => {
    const dir = newDir();
    make(dir);
    const r = warm(dir, ['start'], { zygote: STANDIN_ZYGOTE });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('a path squatted by a file that is not a socket is refused, not removed', () => {
    const dir = newDir();
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.writeFileSync(path.join(dir, 'pool.sock'), 'squatter');
    const r = warm(dir, ['start'], { zygote: STANDIN_ZYGOTE });
    expect(r).toMatchObject({ status: 1, stderr: `warm pool: ${dir}/pool.sock exists and is not a socket: refusing to remove it\n` });
    expect(fs.readFileSync(path.join(dir, 'pool.sock'), 'utf8')).toBe('squatter');
    expect(fs.readdirSync(dir)).toEqual(['pool.sock']);
  });
});

describe('faults', () => {
  test('supervisor killed: its workers exit, the socket is stale (ECONNREFUSED), warm start replaces it', async () => {
    const dir = newDir();
    expect(warm(dir, ['start'], { zygote: STANDIN_ZYGOTE }).status).toBe(0);
    const s = poolStatus(dir);
    process.kill(s.supervisorPid, 'SIGKILL');
    // (the zygote too: it holds the listening socket, and a connection it queues is reset when it goes)
    await until(() => ![s.supervisorPid, s.zygotePid!, ...s.workers.map((w) => w.pid)].some(alive), 5000, 'the supervisor, the zygote and its workers to exit');
    const sock = path.join(dir, 'pool.sock');
    expect(fs.lstatSync(sock).isSocket()).toBe(true);
    expect(await ask(sock, 'state')).toBe('ECONNREFUSED');
    // a command meets the stale socket and runs cold, at once
    const t0 = Date.now();
    const features = tsoci(['features'], { env: { ...process.env, TSOCI_WARM_DIR: dir } });
    expect(features).toMatchObject({ status: 0, stderr: '' });
    expect(JSON.parse(features.stdout).ociVersionMax).toBeTruthy();
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(warm(dir, ['status'])).toMatchObject({ status: 1, stderr: `warm pool is not running (${dir})\n` });
    expect(warm(dir, ['start'], { zygote: STANDIN_ZYGOTE })).toMatchObject({ status: 0, stderr: '' });
    const again = poolStatus(dir);
    expect(again.supervisorPid).not.toBe(s.supervisorPid);
    expect(await ask(sock, 'state')).toMatch(/^served state by \d+$/);
    expect(warm(dir, ['stop']).status).toBe(0);
  });

  test('a worker killed while waiting is replaced', async () => {
    const dir = newDir();
    expect(warm(dir, ['start'], { zygote: STANDIN_ZYGOTE }).status).toBe(0);
    const s = poolStatus(dir);
    process.kill(s.workers[0].pid, 'SIGKILL');
    await until(() => {
      const t = poolStatus(dir);
      return t.workers.filter((w) => w.state === 'ready' && w.pid !== s.workers[0].pid).length === 2;
    }, 10000, 'a replacement');
    expect(poolStatus(dir).respawns).toBe(1);
    expect(warm(dir, ['stop']).status).toBe(0);
  });

  test('workers that die before ready (a broken build): start fails after a bounded back-off, nothing left', () => {
    const dir = newDir();
    const t0 = Date.now();
    const r = warm(dir, ['start'], { zygote: BROKEN });
    expect(Date.now() - t0).toBeLessThan(12000);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^warm pool: 5 workers in a row ended without serving \(the last zygote exited with status 3\)\n$/);
    expect(fs.existsSync(dir)).toBe(false);
  });
});

test('a running pool whose workers start dying (the build broke under it) gives up: socket gone, status says why, stop cleans', async () => {
  const dir = newDir();
  const scripts = fs.mkdtempSync('/run/tsoci-warm-script-');
  dirs.push(scripts);
  const zygote = path.join(scripts, 'warm-standin-zygote.js');
  const worker = path.join(scripts, 'warm-standin-worker.js');
  fs.copyFileSync(STANDIN_ZYGOTE, zygote);
  fs.copyFileSync(STANDIN_WORKER, worker);
  expect(warm(dir, ['start'], { zygote }).status).toBe(0);
  const s = poolStatus(dir);
  fs.copyFileSync(BROKEN, worker);
  for (const w of s.workers) process.kill(w.pid, 'SIGKILL');
  await until(() => poolStatus(dir).state === 'failed', 15000, 'the pool to give up');
  const failed = poolStatus(dir);
  expect(failed.reason).toMatch(new RegExp(`^5 workers in a row ended without serving \\(the last exited with status 3\\); see ${dir}/supervisor\\.log$`));
  expect(failed.workers).toEqual([]);
  expect(fs.existsSync(path.join(dir, 'pool.sock'))).toBe(false);
  expect(fs.readFileSync(path.join(dir, 'supervisor.log'), 'utf8')).toMatch(/exited with status 3 before it was ready \(5 in a row\)/);
  expect(warm(dir, ['status']).stdout).toMatch(/\(failed: 5 workers in a row/);
  const again = warm(dir, ['start'], { zygote });
  expect(again.status).toBe(1);
  expect(again.stderr).toMatch(/^warm pool is already running \(pid \d+, .*\); it gave up \(5 workers in a row .*\): tsoci warm stop, then start again\n$/);
  expect(warm(dir, ['stop']).status).toBe(0);
  expect(alive(failed.supervisorPid)).toBe(false);
  expect(fs.existsSync(dir)).toBe(false);
});

test('a caller of another build, with another bundle installed under the pool: a new zygote loads it, once per installed build', async () => {
  const dir = newDir();
  const top = fs.mkdtempSync('/run/tsoci-warm-install-');
  dirs.push(top);
  // an installation: <top>/bin (the zygote's script) and <top>/dist/build-id
  fs.mkdirSync(path.join(top, 'bin'));
  fs.mkdirSync(path.join(top, 'dist'));
  const zygote = path.join(top, 'bin', 'warm-standin-zygote.js');
  fs.copyFileSync(STANDIN_ZYGOTE, zygote);
  fs.copyFileSync(STANDIN_WORKER, path.join(top, 'bin', 'warm-standin-worker.js'));
  const buildFile = path.join(top, 'dist', 'build-id');
  fs.writeFileSync(buildFile, 'build-b\n');
  expect(warm(dir, ['start'], { zygote }).status).toBe(0);
  const sock = path.join(dir, 'pool.sock');
  const first = poolStatus(dir).zygotePid;
  // the installed build is the zygote's: an old caller changes nothing
  expect(await ask(sock, 'refuse build mismatch (caller build-a, worker build-b)')).toBe('refused');
  await new Promise((r) => setTimeout(r, 300));
  expect(poolStatus(dir).zygotePid).toBe(first);
  // an upgrade under the pool: the next caller's mismatch brings a new zygote, not counted as a failure
  fs.writeFileSync(buildFile, 'build-c\n');
  expect(await ask(sock, 'refuse build mismatch (caller build-c, worker build-b)')).toBe('refused');
  await until(() => {
    const s = poolStatus(dir);
    return s.zygotePid !== undefined && s.zygotePid !== first && s.workers.filter((w) => w.state === 'ready').length === 2;
  }, 10000, 'a new zygote and its workers');
  const second = poolStatus(dir);
  expect(second).toMatchObject({ state: 'running', failuresInARow: 0 });
  expect(alive(first!)).toBe(false);
  expect(fs.readFileSync(path.join(dir, 'supervisor.log'), 'utf8')).toMatch(/the installed build is build-c, the zygote's build-b: starting a new zygote/);
  // (the stand-in's build never becomes build-c) the same installed build: no second restart
  expect(await ask(sock, 'refuse build mismatch (caller build-c, worker build-b)')).toBe('refused');
  await new Promise((r) => setTimeout(r, 300));
  expect(poolStatus(dir).zygotePid).toBe(second.zygotePid);
  expect(await ask(sock, 'state')).toMatch(/^served state by \d+$/);
  expect(warm(dir, ['stop']).status).toBe(0);
});

describe('a second user', () => {
  const why = rootlessUnavailable();
  let u: TestUser | undefined;
  beforeAll(() => {
    if (!why) u = createTestUser('tswp');
  });
  afterAll(() => {
    if (u) expect(removeTestUser(u)).toEqual([]);
  });
  const maybe = why ? test.skip : test;
  if (why) process.stdout.write(`skipping the second user's pool: ${why}\n`);

  maybe('gets its own pool in its XDG_RUNTIME_DIR, and cannot use root\'s', async () => {
    const user = u!;
    const env = {}; // the real worker: the user's own commands are served by its own pool
    const rootDir = newDir();
    expect(warm(rootDir, ['start'], { zygote: STANDIN_ZYGOTE }).status).toBe(0);

    const started = runAs(user, [user.tsoci, 'warm', 'start'], { env });
    expect(started).toMatchObject({ status: 0, stderr: '' });
    const dir = `${user.xdg}/tsoci/.warm`;
    for (const [p, m] of [[dir, 0o700], [`${dir}/pool.sock`, 0o600], [`${dir}/status.json`, 0o600]] as const) {
      expect(fs.lstatSync(p).uid).toBe(user.uid);
      expect(mode(p)).toBe(m);
    }
    const features = runAs(user, [user.tsoci, 'features']);
    expect(features.status).toBe(0);
    expect(JSON.parse(features.stdout).ociVersionMax).toBeTruthy();
    const st = runAs(user, [user.tsoci, 'warm', 'status', '--format', 'json']);
    expect(st.status).toBe(0);
    const s = JSON.parse(st.stdout);
    expect(s.served).toEqual({ features: 1 });
    for (const pid of [s.supervisorPid, ...s.workers.map((w: { pid: number }) => w.pid)]) {
      expect(fs.statSync(`/proc/${pid}`).uid).toBe(user.uid);
    }

    // root's pool: its directory is closed to the user, and naming it is refused
    const connect = `require('net').connect(process.argv[1]).on('connect',()=>{console.log('connected');process.exit(0)}).on('error',(e)=>{console.log(e.code);process.exit(0)})`;
    expect(runAs(user, [process.execPath, '-e', connect, path.join(rootDir, 'pool.sock')]).stdout.trim()).toBe('EACCES');
    const other = runAs(user, [user.tsoci, 'warm', 'start'], { env: { ...env, TSOCI_WARM_DIR: rootDir } });
    expect(other).toMatchObject({ status: 1, stderr: `warm pool: ${rootDir} is owned by uid 0, not ${user.uid}: refusing to use it\n` });
    expect(runAs(user, [user.tsoci, 'warm', 'stop'], { env: { TSOCI_WARM_DIR: rootDir } }).status).toBe(1);
    expect(poolStatus(rootDir).state).toBe('running');
    // no XDG_RUNTIME_DIR: no pool
    expect(runAs(user, [user.tsoci, 'warm', 'start'], { env: { ...env, XDG_RUNTIME_DIR: '' } })).toMatchObject({
      status: 1, stderr: 'warm pool: no pool directory: $XDG_RUNTIME_DIR is not set (or set $TSOCI_WARM_DIR)\n',
    });

    expect(runAs(user, [user.tsoci, 'warm', 'stop'])).toMatchObject({ status: 0, stderr: '' });
    expect(fs.existsSync(dir)).toBe(false);
    expect(warm(rootDir, ['stop']).status).toBe(0);
  });
});

/** The parent pid of a process (field 4 of /proc/<pid>/stat). */
function parentOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}
