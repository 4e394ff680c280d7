import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, tsoci, uniqueId, TEST_ROOT, TSOCI, type Result } from '../helpers/tsoci';
import { coldEnv, poolDir, TestPool } from '../helpers/warm';

// The warm handoff (issue 16): a command handed by the launcher to a pool worker gives what
// the cold path gives (stdout, stderr, status, state), and the container's init is the
// caller's descendant. Each warm command is proven warm by its worker's `accepted` event.

jest.setTimeout(120000);

let pool: TestPool;
let bundle: string;
let badBundle: string;
const cleanup: string[] = [];

beforeAll(async () => {
  pool = new TestPool(poolDir(), 2);
  bundle = makeBundle(testSpec(['sleep', '100']));
  badBundle = makeBundle(testSpec(['/no/such/executable']));
  cleanup.push(badBundle);
  await pool.waitIdle(2);
});

afterAll(async () => {
  await pool.stop();
  deleteAll();
  removeBundle(bundle);
  for (const d of cleanup) fs.rmSync(d, { recursive: true, force: true });
  fs.rmSync(path.dirname(pool.dir), { recursive: true, force: true });
});

afterEach(() => deleteAll());

/** Runs a command warm, checking that a worker really took it. */
async function warm(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  await pool.waitIdle(1);
  const { result, commands } = await pool.track(() => tsoci(args, { cwd: opts.cwd, env: pool.env(opts.env) }));
  expect(commands).toHaveLength(1);
  return result;
}

async function cold(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  return tsoci(args, { cwd: opts.cwd, env: coldEnv(opts.env) });
}

/** What differs legitimately between two runs: ids, pids, times, temp paths. */
function normal(r: Result, id: string): Result {
  const fix = (s: string) =>
    s
      .split(id).join('<id>')
      .replace(/"pid":\s*\d+/g, '"pid": <pid>')
      .replace(/"created":\s*"[^"]+"/g, '"created": <t>')
      .replace(/\s\d{4}-\d\d-\d\dT[\d:.]+Z/g, ' <t>')
      .replace(/(<id>\s+)\d+/g, '$1<pid>')
      .replace(/tsoci-out-\w+/g, '<tmp>');
  return { status: r.status, stdout: fix(r.stdout), stderr: fix(r.stderr) };
}

describe('differential: cold and warm give the same results', () => {
  type Runner = (args: string[], opts?: { cwd?: string; env?: NodeJS.ProcessEnv }) => Promise<Result>;

  // one container's life, every step's result normalised
  async function scenario(run: Runner): Promise<Result[]> {
    const id = uniqueId('wdiff');
    const out: Result[] = [];
    const step = async (args: string[], opts?: { cwd?: string; env?: NodeJS.ProcessEnv }) => out.push(normal(await run(args, opts), id));
    await step(['state', id]);
    await step(['kill', id, 'KILL']);
    await step(['delete', id]);
    await step(['create', '--bundle', bundle, id]);
    await step(['create', '--bundle', bundle, id]);
    await step(['state', id]);
    await step(['start', id]);
    await step(['state', id]);
    await step(['exec', id, 'sh', '-c', 'echo out; echo err >&2; exit 5']);
    await step(['exec', id, 'sh', '-c', 'echo "$FOO" "$(pwd)"'], { env: { FOO: 'not passed' } });
    await step(['list', '--format', 'json']);
    await step(['delete', id]);
    await step(['kill', id, 'NOSUCHSIGNAL']);
    await step(['kill', id, 'KILL']);
    for (let i = 0; i < 50 && !/stopped/.test((await run(['state', id])).stdout); i++) await new Promise((r) => setTimeout(r, 100));
    await step(['state', id]);
    await step(['delete', id]);
    await step(['state', id]);
    await step(['run', '--bundle', bundle, '--no-such-flag', id]);
    await step(['run', '--bundle', '/nonexistent/bundle', id]);
    // fails once tsoci-init runs: the init is killed, waited and reaped through the launcher
    await step(['create', '--bundle', badBundle, id]);
    await step(['run', '--bundle', badBundle, id]);
    await step(['state', id]);
    await step(['features']);
    await step(['--version']);
    return out;
  }

  test('a container life, with its errors', async () => {
    const c = await scenario(cold);
    const w = await scenario(warm);
    expect(w).toEqual(c);
    // the warm run was really warm, command by command
    expect(pool.accepted().map((e) => e.command)).toEqual(expect.arrayContaining(['state', 'kill', 'delete', 'create', 'start', 'exec', 'list', 'run', 'features']));
  });

  test('run in the foreground: output, status, env and cwd of the caller', async () => {
    const runBundle = makeBundle(testSpec(['sh', '-c', 'echo hi; echo oops >&2; exit 3']));
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-warm-cwd-'));
    cleanup.push(runBundle, work);
    const c = await cold(['run', '--bundle', runBundle, 'wrun-c']);
    const w = await warm(['run', '--bundle', runBundle, 'wrun-w']);
    expect(c).toMatchObject({ status: 3, stdout: 'hi\n', stderr: 'oops\n' });
    expect(w).toEqual(c);
    // spec writes into the caller's cwd (relative path), with the caller's umask
    const specC = await cold(['spec'], { cwd: work });
    const cfgC = fs.readFileSync(path.join(work, 'config.json'), 'utf8');
    fs.rmSync(path.join(work, 'config.json'));
    const specW = await warm(['spec'], { cwd: work });
    expect(specW).toEqual(specC);
    expect(fs.readFileSync(path.join(work, 'config.json'), 'utf8')).toBe(cfgC);
    // the caller's environment: --root from XDG_RUNTIME_DIR would differ; a relative --root resolves in the caller's cwd
    const relC = await cold(['--root', 'rel-root', 'list', '-q'], { cwd: work });
    const relW = await warm(['--root', 'rel-root', 'list', '-q'], { cwd: work });
    expect(relW).toEqual(relC);
  });
});

describe('process ancestry stays the caller\'s', () => {
  // A caller like conmon: a child subreaper that runs `tsoci create` and must reap the init.
  const CALLER = `
import ctypes, json, os, subprocess, sys, time
libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
tsoci, root, bundle, cid = sys.argv[1:5]
# the container keeps its stdio: no pipe of ours, or run() would wait for it
r = subprocess.run([tsoci, '--root', root, 'create', '--bundle', bundle, cid], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
assert r.returncode == 0, r.returncode
state = json.loads(subprocess.run([tsoci, '--root', root, 'state', cid], capture_output=True).stdout)
pid = state['pid']
ppid = int(open('/proc/%d/stat' % pid).read().rsplit(')', 1)[1].split()[1])
subprocess.run([tsoci, '--root', root, 'kill', cid, 'KILL'], check=True)
got, status = os.waitpid(pid, 0)
print(json.dumps({'me': os.getpid(), 'ppid': ppid, 'reaped': got == pid, 'signal': os.WTERMSIG(status) if os.WIFSIGNALED(status) else None}))
`;

  test.each(['cold', 'warm'])('%s: the container init is the subreaper caller\'s child, and the caller reaps it', async (mode) => {
    if (mode === 'warm') await pool.waitIdle(2);
    const id = uniqueId(`wsr${mode}`);
    const { result: r, commands } = await pool.track(
      () => spawnSync('python3', ['-c', CALLER, TSOCI, TEST_ROOT, bundle, id], { encoding: 'utf8', env: mode === 'warm' ? pool.env() : coldEnv(), timeout: 60000 }),
      mode === 'warm' ? 1 : 0,
    );
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { me: number; ppid: number; reaped: boolean; signal: number };
    expect(out).toEqual({ me: out.me, ppid: out.me, reaped: true, signal: 9 });
    if (mode === 'warm') expect(commands).toContain('create');
    else expect(commands).toEqual([]);
  });
});

describe('fds of the caller through the warm path', () => {
  function runWithFd3(args: string[], env: NodeJS.ProcessEnv, prefix = ''): { status: number | null; stdout: string; stderr: string; fd3: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-warm-fd-'));
    const file = path.join(dir, 'fd3');
    const fd3 = fs.openSync(file, 'w+');
    try {
      const r = spawnSync('sh', ['-c', `${prefix} exec "$0" "$@"`, TSOCI, '--root', TEST_ROOT, ...args], { stdio: ['ignore', 'pipe', 'pipe', fd3], encoding: 'utf8', env, timeout: 60000 });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr, fd3: fs.readFileSync(file, 'utf8') };
    } finally {
      fs.closeSync(fd3);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  test('--preserve-fds 1: the container writes to the caller\'s fd 3', async () => {
    const b = makeBundle(testSpec(['sh', '-c', 'echo via-fd3 >&3; ls /proc/self/fd | wc -l']));
    cleanup.push(b);
    const c = runWithFd3(['run', '--preserve-fds', '1', '--bundle', b, uniqueId('wpfc')], coldEnv());
    await pool.waitIdle(1);
    const { result: w, commands } = await pool.track(() => runWithFd3(['run', '--preserve-fds', '1', '--bundle', b, uniqueId('wpfw')], pool.env()));
    expect(c).toMatchObject({ status: 0, fd3: 'via-fd3\n', stderr: '' });
    expect(w).toEqual(c);
    expect(commands).toEqual(['run']);
    // an fd the caller did not pass is refused as cold refuses it
    const c2 = runWithFd3(['run', '--preserve-fds', '2', '--bundle', b, uniqueId('wpfc')], coldEnv());
    await pool.waitIdle(1);
    const w2 = await pool.track(() => runWithFd3(['run', '--preserve-fds', '2', '--bundle', b, uniqueId('wpfw')], pool.env()));
    expect(c2.status).toBe(1);
    expect(w2.result).toEqual(c2);
    expect(w2.commands).toEqual(['run']);
  });

  test('LISTEN_FDS: LISTEN_PID names the launcher (the pid the caller exec\'d)', async () => {
    const b = makeBundle(testSpec(['sh', '-c', 'echo "$LISTEN_FDS $LISTEN_PID"; echo listened >&3']));
    cleanup.push(b);
    const prefix = 'LISTEN_PID=$$ LISTEN_FDS=1; export LISTEN_PID LISTEN_FDS;';
    const c = runWithFd3(['run', '--bundle', b, uniqueId('wlfc')], coldEnv(), prefix);
    await pool.waitIdle(1);
    const { result: w, commands } = await pool.track(() => runWithFd3(['run', '--bundle', b, uniqueId('wlfw')], pool.env(), prefix));
    expect(c).toMatchObject({ status: 0, stdout: '1 1\n', fd3: 'listened\n' });
    expect(w).toEqual(c);
    expect(commands).toEqual(['run']);
  });
});

describe("the caller's resource limits", () => {
  // prlimit(1) sets them for the command it execs: bin/tsoci, the launcher
  const limited = (limits: string[], args: string[], env: NodeJS.ProcessEnv) =>
    spawnSync('prlimit', [...limits, TSOCI, '--root', TEST_ROOT, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 30000 });

  // Node raises its soft NOFILE limit to the hard one at start-up: cold tsoci lowers it back to
  // the caller's (src/fds/caller-nofile.ts), a worker takes the launcher's, and current runc
  // (Go >= 1.21) passes on its caller's too
  test('a hook and a container without rlimits get them, cold and warm (the worker takes them before it accepts)', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-hook-limits-')), 'limits');
    cleanup.push(path.dirname(out));
    const spec = testSpec(['sh', '-c', "grep '^Max open files ' /proc/self/limits"]);
    delete spec.process.rlimits;
    spec.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `grep -E '^Max (open files|core file size|pending signals) ' /proc/self/limits > ${out}`] }] };
    const b = makeBundle(spec);
    cleanup.push(b);
    const limits = ['--nofile=777:4000', '--core=0:12345', '--sigpending=300:300'];
    const coldRun = limited(limits, ['run', '--bundle', b, uniqueId('wlimc')], coldEnv());
    expect(coldRun).toMatchObject({ status: 0, stderr: '' });
    expect(coldRun.stdout).toMatch(/^Max open files +777 +4000 /m);
    const cold = fs.readFileSync(out, 'utf8');
    expect(cold).toMatch(/^Max open files +777 +4000 /m);
    expect(cold).toMatch(/^Max core file size +0 +12345 /m);
    fs.rmSync(out);
    await pool.waitIdle(1);
    const { result, commands } = await pool.track(() => limited(limits, ['run', '--bundle', b, uniqueId('wlimw')], pool.env()));
    expect(result).toMatchObject({ status: 0, stderr: '', stdout: coldRun.stdout });
    expect(commands).toEqual(['run']);
    expect(fs.readFileSync(out, 'utf8')).toBe(cold);
  });

  test('a caller whose address space is limited runs cold: a worker refuses it, with the reason', async () => {
    await pool.waitIdle(1);
    const { result, commands } = await pool.track(() => limited(['--as=64000000000'], ['state', 'no-such-container'], pool.env()), 0);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('container "no-such-container" does not exist\n');
    expect(commands).toEqual([]);
    await new Promise((r) => setTimeout(r, 100)); // the refusal's event comes through a pipe
    expect(pool.refused().map((e) => e.reason)).toContain("the caller's RLIMIT_AS is limited");
  });
});

describe('signals reach the container through the launcher and the worker', () => {
  test('SIGTERM to a foreground warm run is forwarded; the status is the container\'s', async () => {
    const b = makeBundle(testSpec(['sh', '-c', 'trap "exit 7" TERM; echo ready; while :; do sleep 0.1; done']));
    cleanup.push(b);
    await pool.waitIdle(1);
    await pool.track(() => undefined, 0);
    const before = pool.accepted().length;
    const child = spawn(TSOCI, ['--root', TEST_ROOT, 'run', '--bundle', b, uniqueId('wsig')], { stdio: ['ignore', 'pipe', 'pipe'], env: pool.env() });
    let out = '';
    await new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => ((out += d.toString()), out.includes('ready') && resolve())));
    expect(pool.accepted().slice(before).map((e) => e.command)).toEqual(['run']);
    child.kill('SIGTERM');
    const code = await new Promise((resolve) => child.on('exit', (c, s) => resolve(c ?? s)));
    expect(code).toBe(7);
  });

  test('a signal that kills the worker kills the launcher the same way (events, SIGTERM): as cold', async () => {
    const id = uniqueId('wev');
    expect((await cold(['run', '--detach', '--bundle', bundle, id])).status).toBe(0);
    const endBy = async (env: NodeJS.ProcessEnv) => {
      const child = spawn(TSOCI, ['--root', TEST_ROOT, 'events', '--interval', '1s', id], { stdio: ['ignore', 'pipe', 'ignore'], env });
      await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
      child.kill('SIGTERM');
      return new Promise((resolve) => child.on('exit', (c, s) => resolve({ code: c, signal: s })));
    };
    const c = await endBy(coldEnv());
    await pool.waitIdle(1);
    const { result, commands } = await pool.track(() => endBy(pool.env()));
    expect(commands).toEqual(['events']);
    expect(await result).toEqual(c);
  });
});
