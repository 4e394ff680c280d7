import { spawn, type StdioOptions } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { Readable } from 'stream';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, tsoci, uniqueId, REPO, TEST_ROOT, TSOCI } from '../helpers/tsoci';

// --preserve-fds N passes fds 3 … 3+N-1; LISTEN_FDS (systemd socket activation) like runc;
// every other fd of tsoci (Node's own, and whatever its caller leaked) is closed.

interface Spawned {
  /** -1 when killed (the timeout) */
  code: number | null;
  stdout: string;
  stderr: string;
  extra: string[];
}

interface SpawnOptions {
  /** run `sh -c '<prefix> exec "$0" "$@"'` so the prefix sets up the environment */
  shellPrefix?: string;
  /** the command to run instead of bin/tsoci (e.g. node on bin/loader.js, without the launcher) */
  command?: string[];
  /** fds (3 + index) passed as 'ignore', i.e. not passed at all */
  holes?: number[];
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs tsoci with `extraPipes` pipes as fds 3, 4, … (the holes left closed); killed after timeoutMs. */
function spawnTsoci(args: string[], extraPipes: number, o: SpawnOptions | string = {}): Promise<Spawned> {
  const opts = typeof o === 'string' ? { shellPrefix: o } : o;
  const stdio: StdioOptions = ['ignore', 'pipe', 'pipe', ...Array.from({ length: extraPipes }, (_, i) => (opts.holes?.includes(3 + i) ? 'ignore' : 'pipe'))];
  const argv = ['--root', TEST_ROOT, ...args];
  const cmd = opts.command ?? [TSOCI];
  const child = opts.shellPrefix
    ? spawn('sh', ['-c', `${opts.shellPrefix} exec "$0" "$@"`, ...cmd, ...argv], { stdio, env: opts.env })
    : spawn(cmd[0], [...cmd.slice(1), ...argv], { stdio, env: opts.env });
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20000);
  const out = { stdout: '', stderr: '', extra: Array(extraPipes).fill('') as string[] };
  child.stdout!.on('data', (d) => (out.stdout += d));
  child.stderr!.on('data', (d) => (out.stderr += d));
  const closed: Promise<void>[] = [];
  for (let i = 0; i < extraPipes; i++) {
    const s = child.stdio[3 + i] as Readable | null;
    if (!s) continue;
    s.on('data', (d) => (out.extra[i] += d));
    closed.push(new Promise((r) => s.on('close', () => r())));
  }
  return new Promise((resolve) => {
    child.on('exit', async (code, signal) => {
      clearTimeout(timer);
      await Promise.all(closed);
      resolve({ code: code ?? (signal ? -1 : null), ...out });
    });
  });
}

/**
 * The fds the container process has: the shell execs ls on its own fd directory (the shell
 * itself holds transient pipe fds while it runs a pipeline); fds() drops ls's directory fd.
 */
const LIST_FDS = 'exec ls -l /proc/self/fd';
function fds(out: string): string {
  const nums = [...out.matchAll(/ (\d+) -> (.*)$/gm)].filter((m) => !/^\/proc\/\d+\/fd$/.test(m[2])).map((m) => Number(m[1]));
  return nums.sort((a, b) => a - b).join(' ');
}
/** stderr without ls complaining that its own (already closed) directory fd is gone */
const errs = (stderr: string) => stderr.split('\n').filter((l) => l && !/^ls: \/proc\/self\/fd\/\d+: cannot read link/.test(l)).join('\n');

describe('preserved fds', () => {
  let bundle: string;
  beforeAll(() => {
    bundle = makeBundle(testSpec(['sh', '-c', `echo via-fd3 >&3; ${LIST_FDS}`]));
  });
  afterAll(() => removeBundle(bundle));
  afterEach(() => deleteAll());

  test('run --preserve-fds 1: the container writes into the pipe at fd 3 and has only 0-3', async () => {
    const r = await spawnTsoci(['run', '--preserve-fds', '1', '--bundle', bundle, uniqueId('pfd')], 1);
    expect(errs(r.stderr)).toBe('');
    expect(r.code).toBe(0);
    expect(r.extra[0]).toBe('via-fd3\n');
    expect(fds(r.stdout)).toBe('0 1 2 3');
  });

  test('without --preserve-fds a pipe at fd 3 does not reach the container: only 0-2', async () => {
    const r = await spawnTsoci(['run', '--bundle', bundle, uniqueId('nopfd')], 1);
    expect(r.code).toBe(0);
    expect(r.extra[0]).toBe('');
    expect(r.stderr).toContain('3: Bad file descriptor');
    expect(fds(r.stdout)).toBe('0 1 2');
  });

  test('create --preserve-fds 2 then start: both fds survive the wait for start', async () => {
    const b = makeBundle(testSpec(['sh', '-c', `echo to-3 >&3; echo to-4 >&4; ${LIST_FDS} >&4`]));
    try {
      const id = uniqueId('pfdc');
      const created = spawnTsoci(['create', '--preserve-fds', '2', '--bundle', b, id], 2);
      // create returns while the container (holding the pipes) waits; start it from outside
      const deadline = Date.now() + 10000;
      // "created", not just known: state says "creating" until the init is ready (a warm state is fast enough to see it)
      const status = () => {
        const st = tsoci(['state', id]);
        return st.status === 0 ? JSON.parse(st.stdout).status : undefined;
      };
      while (status() !== 'created' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(tsoci(['start', id]).status).toBe(0);
      const r = await created;
      expect(r.code).toBe(0);
      expect(r.extra[0]).toBe('to-3\n');
      expect(r.extra[1]).toMatch(/^to-4\n/);
      expect(fds(r.extra[1])).toBe('0 1 2 3 4');
    } finally {
      removeBundle(b);
    }
  });

  test('exec --preserve-fds 1 passes fd 3 to the exec process only', async () => {
    const b = makeBundle(testSpec(['sleep', '600']));
    try {
      const id = uniqueId('pfdx');
      expect(tsoci(['run', '-d', '--bundle', b, id]).status).toBe(0);
      const r = await spawnTsoci(['exec', '--preserve-fds', '1', id, 'sh', '-c', `echo exec-fd3 >&3; ${LIST_FDS}`], 1);
      expect(errs(r.stderr)).toBe('');
      expect(r.extra[0]).toBe('exec-fd3\n');
      expect(fds(r.stdout)).toBe('0 1 2 3');
      const plain = await spawnTsoci(['exec', id, 'sh', '-c', LIST_FDS], 1);
      expect(fds(plain.stdout)).toBe('0 1 2');
      // the container's init has only 0-2 (nothing of the exec's)
      expect(fds(tsoci(['exec', id, 'ls', '-l', '/proc/1/fd']).stdout)).toBe('0 1 2');
    } finally {
      removeBundle(b);
    }
  });

  test('LISTEN_FDS/LISTEN_PID naming tsoci: listen fds first, then the preserved ones; LISTEN_FDS=n LISTEN_PID=1 in the env', async () => {
    const b = makeBundle(testSpec(['sh', '-c', `echo listen >&3; echo preserved >&4; echo "$LISTEN_FDS $LISTEN_PID"; ${LIST_FDS}`]));
    try {
      // sh execs tsoci: its pid is the one LISTEN_PID names
      const r = await spawnTsoci(['run', '--preserve-fds', '1', '--bundle', b, uniqueId('listen')], 2, 'LISTEN_PID=$$ LISTEN_FDS=1; export LISTEN_PID LISTEN_FDS;');
      expect(errs(r.stderr)).toBe('');
      expect(r.extra).toEqual(['listen\n', 'preserved\n']);
      expect(r.stdout).toMatch(/^1 1\n/);
      expect(fds(r.stdout)).toBe('0 1 2 3 4');
    } finally {
      removeBundle(b);
    }
  });

  test('LISTEN_PID naming another process: ignored (no listen fds, no env)', async () => {
    const b = makeBundle(testSpec(['sh', '-c', `echo "[$LISTEN_FDS]"; ${LIST_FDS}`]));
    try {
      const r = await spawnTsoci(['run', '--bundle', b, uniqueId('listen2')], 1, 'LISTEN_PID=1 LISTEN_FDS=1; export LISTEN_PID LISTEN_FDS;');
      expect(r.stdout).toMatch(/^\[\]\n/);
      expect(fds(r.stdout)).toBe('0 1 2');
    } finally {
      removeBundle(b);
    }
  });
  test('--preserve-fds 100 from a caller with only 0-2: refused like runc, at once, nothing left behind (was a hang)', async () => {
    const id = uniqueId('pfd100');
    const t0 = Date.now();
    const r = await spawnTsoci(['run', '--preserve-fds', '100', '--bundle', bundle, id], 0, { timeoutMs: 15000 });
    expect(r.stderr).toContain('unable to stat preserved-fd 0 (of 100): no such file or directory');
    expect(r.code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(10000);
    expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
    expect(r.stdout).toBe('');
  });

  test('only the fds the caller passed count: a missing one in the range is refused with its index', async () => {
    // fds 3 and 5 passed, 4 not (Node has its own fds at the free numbers)
    const id = uniqueId('pfdhole');
    const r = await spawnTsoci(['run', '--preserve-fds', '3', '--bundle', bundle, id], 3, { holes: [4] });
    expect(r.stderr).toContain('unable to stat preserved-fd 1 (of 3): no such file or directory');
    expect(r.code).toBe(1);
    expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
    const more = await spawnTsoci(['run', '--preserve-fds', '3', '--bundle', bundle, uniqueId('pfdmore')], 2);
    expect(more.stderr).toContain('unable to stat preserved-fd 2 (of 3): no such file or directory');
    expect(more.code).toBe(1);
  });

  test.each([0, 1, 2, 4])('--preserve-fds %i with the caller passing 4 pipes: the container has exactly 0-2 and those', async (n) => {
    const r = await spawnTsoci(['run', '--preserve-fds', String(n), '--bundle', bundle, uniqueId(`pfdn${n}`)], 4);
    expect(r.code).toBe(0);
    expect(fds(r.stdout)).toBe(Array.from({ length: 3 + n }, (_, i) => i).join(' '));
    expect(r.extra[0]).toBe(n > 0 ? 'via-fd3\n' : '');
  });

  test('exec --preserve-fds with an fd the caller did not pass: refused, the container keeps running', async () => {
    const b = makeBundle(testSpec(['sleep', '600']));
    try {
      const id = uniqueId('pfdxr');
      expect(tsoci(['run', '-d', '--bundle', b, id]).status).toBe(0);
      const r = await spawnTsoci(['exec', '--preserve-fds', '2', id, 'true'], 1);
      expect(r.stderr).toContain('unable to stat preserved-fd 1 (of 2): no such file or directory');
      expect(r.code).not.toBe(0);
      expect(tsoci(['state', id]).stdout).toContain('"running"');
    } finally {
      removeBundle(b);
    }
  });

  test('LISTEN_FDS naming more fds than the caller passed: refused', async () => {
    const id = uniqueId('listen3');
    const r = await spawnTsoci(['run', '--bundle', bundle, id], 1, 'LISTEN_PID=$$ LISTEN_FDS=2; export LISTEN_PID LISTEN_FDS;');
    expect(r.stderr).toContain('unable to stat listen fd 4 (LISTEN_FDS=2): no such file or directory');
    expect(r.code).toBe(1);
    expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
  });

  test("the launcher's record (TSOCI_CALLER_FDS) does not reach the container's environment", async () => {
    const b = makeBundle(testSpec(['sh', '-c', 'echo "[$TSOCI_CALLER_FDS]"']));
    try {
      const r = await spawnTsoci(['run', '--bundle', b, uniqueId('pfdenv')], 0);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('[]\n');
    } finally {
      removeBundle(b);
    }
  });

  describe('without the launcher (node on bin/loader.js)', () => {
    const direct = [process.execPath, path.join(REPO, 'bin', 'loader.js')];

    test('an fd Node has marked close-on-exec cannot be vouched for: refused with the reason', async () => {
      const id = uniqueId('pfdnode');
      const r = await spawnTsoci(['run', '--preserve-fds', '1', '--bundle', bundle, id], 1, { command: direct });
      expect(r.stderr).toContain("unable to stat preserved-fd 0 (of 1): fd 3 cannot be told from Node's own: run tsoci through its launcher (bin/tsoci)");
      expect(r.code).toBe(1);
      expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
    });

    test("a record naming another pid (a stale export) is ignored: Node's own fds are never passed", async () => {
      const r = await spawnTsoci(['run', '--preserve-fds', '20', '--bundle', bundle, uniqueId('pfdstale')], 0, {
        command: direct,
        env: { ...process.env, TSOCI_CALLER_FDS: '1:3-40' },
      });
      expect(r.stderr).toMatch(/unable to stat preserved-fd 0 \(of 20\): (no such file or directory|fd 3 cannot be told)/);
      expect(r.code).toBe(1);
    });

    test('without preserved fds it runs as through the launcher', async () => {
      const r = await spawnTsoci(['run', '--bundle', bundle, uniqueId('pfdnode0')], 1, { command: direct });
      expect(r.code).toBe(0);
      expect(fds(r.stdout)).toBe('0 1 2');
    });
  });
});
