import { spawn } from 'child_process';
import type { Readable } from 'stream';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, tsoci, uniqueId, TEST_ROOT, TSOCI } from '../helpers/tsoci';

// --preserve-fds N passes fds 3 … 3+N-1; LISTEN_FDS (systemd socket activation) like runc;
// every other fd of tsoci (Node's own, and whatever its caller leaked) is closed.

interface Spawned {
  code: number | null;
  stdout: string;
  stderr: string;
  extra: string[];
}

/** Runs tsoci (through `sh -c` when a prefix is given) with `extraPipes` pipes as fds 3, 4, … */
function spawnTsoci(args: string[], extraPipes: number, shellPrefix?: string): Promise<Spawned> {
  const stdio = ['ignore', 'pipe', 'pipe', ...Array(extraPipes).fill('pipe')] as ('pipe' | 'ignore')[];
  const argv = ['--root', TEST_ROOT, ...args];
  const child = shellPrefix
    ? spawn('sh', ['-c', `${shellPrefix} exec "$0" "$@"`, TSOCI, ...argv], { stdio })
    : spawn(TSOCI, argv, { stdio });
  const out = { stdout: '', stderr: '', extra: Array(extraPipes).fill('') as string[] };
  child.stdout!.on('data', (d) => (out.stdout += d));
  child.stderr!.on('data', (d) => (out.stderr += d));
  const closed: Promise<void>[] = [];
  for (let i = 0; i < extraPipes; i++) {
    const s = child.stdio[3 + i] as Readable;
    s.on('data', (d) => (out.extra[i] += d));
    closed.push(new Promise((r) => s.on('close', () => r())));
  }
  return new Promise((resolve) => {
    child.on('exit', async (code) => {
      await Promise.all(closed);
      resolve({ code, ...out });
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
      while (tsoci(['state', id]).status !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
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
});
