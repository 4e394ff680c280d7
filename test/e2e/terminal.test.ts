import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConsoleListener, consoleAddon, readMaster } from '../helpers/console';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, REPO, stateOf, tsoci, tsociAsync, TSOCI, TEST_ROOT, uniqueId } from '../helpers/tsoci';
import { settledDiff, snapshot } from '../helpers/leaks';

// process.terminal: the pty is made inside the container, its master reaches the console
// socket (conmon's and containerd's way), or tsoci relays it itself in the foreground.

const addon = consoleAddon();

const PTY_RUN = path.join(REPO, 'test', 'helpers', 'pty_run.py');
const EXTRA_APPLETS = ['tty', 'stty'];

function bundleWith(args: string[], edit: (s: Record<string, any>) => void = () => undefined): string {
  const spec = testSpec(args);
  spec.process.terminal = true;
  edit(spec);
  const b = makeBundle(spec);
  for (const a of EXTRA_APPLETS) fs.symlinkSync('busybox', path.join(b, 'rootfs', 'bin', a));
  return b;
}

function ptyRun(argv: string[], cfg: { rows?: number; cols?: number; steps?: object[]; timeout?: number } = {}) {
  const r = spawnSync('python3', [PTY_RUN, JSON.stringify({ argv, rows: 24, cols: 80, timeout: 20, ...cfg })], { encoding: 'utf8', timeout: 40000 });
  if (r.status !== 0) throw new Error(`pty_run failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { status: number; output: string; timedOut: boolean; pendingSteps: number; termiosRestored: boolean };
}

const consoleTempDirs = () => fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('tsoci-console-'));

function waitStopped(id: string): void {
  for (let i = 0; i < 300 && stateOf(id).status !== 'stopped'; i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
}

describe('console socket (create)', () => {
  afterEach(() => deleteAll());

  test('the master arrives before create returns; the slave is /dev/pts/0, the controlling tty, sized and owned like runc', async () => {
    const b = bundleWith(['sh'], (s) => {
      s.process.consoleSize = { height: 25, width: 91 };
      s.process.user = { uid: 1000, gid: 1000 };
    });
    const l = new ConsoleListener(5000);
    const id = uniqueId('tty');
    try {
      const c = tsoci(['create', '--console-socket', l.path, '--bundle', b, id]);
      expect(c.stderr).toBe('');
      expect(c.status).toBe(0);
      const { fd, name } = l.receive(); // already queued: create has returned
      expect(name).toBe('/dev/ptmx');
      expect(tsoci(['start', id]).status).toBe(0);
      // $((…)) so the echo of the typed line cannot match the checks below
      fs.writeSync(fd, 'tty; stty size; test -t 0 && echo T$((1+1)); stat -c "o=%u:%g" $(tty); ' +
        'cat /proc/self/stat | cut -d" " -f6,7,8 | (read sid tty tpgid; test $tty != 0 && echo C$((2+1))); ' +
        'stat -c "%t:%T" /dev/console; exit 7\n');
      const out = await readMaster(fd);
      expect(out).toMatch(/^\/dev\/pts\/0\r$/m);
      expect(out).toMatch(/^25 91\r$/m);
      expect(out).toMatch(/^T2\r$/m);
      expect(out).toMatch(/^o=1000:5\r$/m); // uid changed, gid from devpts' gid=5 kept
      expect(out).toMatch(/^C3\r$/m); // the pty is the controlling terminal
      expect(out).toMatch(/^88:0\r$/m); // /dev/console is the pty (136:0 in hex)
      waitStopped(id);
    } finally {
      l.close();
      removeBundle(b);
    }
  });

  test('output written before anyone reads is kept; the socket connection is closed after the master is sent', async () => {
    const b = bundleWith(['sh', '-c', 'echo early-$((6*7))']);
    const l = new ConsoleListener(5000);
    const id = uniqueId('ttyearly');
    try {
      expect(tsoci(['create', '--console-socket', l.path, '--bundle', b, id]).status).toBe(0);
      const { fd } = l.receive();
      expect(tsoci(['start', id]).status).toBe(0);
      waitStopped(id);
      expect(await readMaster(fd)).toBe('early-42\r\n');
    } finally {
      l.close();
      removeBundle(b);
    }
  });

  test.each([
    ['missing', (l: ConsoleListener) => l.path + '.missing', 'no such file or directory (ENOENT)'],
    ['refusing', (l: ConsoleListener) => {
      // a socket file nobody listens on any more
      const p = path.join(l.dir, 'dead.sock');
      const fd = addon.consoleListen(p) as number;
      fs.closeSync(fd);
      return p;
    }, 'connection refused (ECONNREFUSED)'],
  ])('a %s console socket: a clear error naming it, exit 1, nothing left', (_what, sock, why) => {
    const b = bundleWith(['sh']);
    const l = new ConsoleListener(5000);
    const id = uniqueId('ttybad');
    try {
      const socketPath = sock(l);
      const before = snapshot(TEST_ROOT);
      const r = tsoci(['create', '--console-socket', socketPath, '--bundle', b, id]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`connect console socket ${socketPath}: ${why}`);
      expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
      expect(settledDiff(before, TEST_ROOT, { mentioning: [id, b] })).toEqual([]);
    } finally {
      l.close();
      removeBundle(b);
    }
  });

  test('no devpts in the container: create fails naming /dev/pts/ptmx, nothing left', () => {
    const b = bundleWith(['true'], (s) => (s.mounts = s.mounts.filter((m: any) => m.destination !== '/dev/pts')));
    const l = new ConsoleListener(5000);
    const id = uniqueId('ttynopts');
    try {
      const before = snapshot(TEST_ROOT);
      const r = tsoci(['create', '--console-socket', l.path, '--bundle', b, id]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('open /dev/pts/ptmx (is devpts mounted on /dev/pts?): no such file or directory (ENOENT)');
      expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
      expect(settledDiff(before, TEST_ROOT, { mentioning: [id, b] })).toEqual([]);
    } finally {
      l.close();
      removeBundle(b);
    }
  });

  test('a console socket whose listener is gone by the time the master is sent: create fails, nothing left', async () => {
    // the init connects first (the connection waits in the backlog); a createRuntime hook
    // then tells the test to close the listener while the container is being set up
    const l = new ConsoleListener(5000);
    const flag = path.join(l.dir, 'hook-ran');
    const b = bundleWith(['true'], (s) => {
      s.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `touch ${flag}; sleep 1`] }] };
    });
    const id = uniqueId('ttygone');
    const poll = setInterval(() => {
      if (fs.existsSync(flag)) {
        clearInterval(poll);
        l.close();
      }
    }, 10);
    try {
      const before = snapshot(TEST_ROOT);
      const r = await tsociAsync(['create', '--console-socket', l.path, '--bundle', b, id]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/send the pty master to console socket .*: (connection reset by peer \(ECONNRESET\)|broken pipe \(EPIPE\))/);
      expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
      expect(settledDiff(before, TEST_ROOT, { mentioning: [id, b] })).toEqual([]);
    } finally {
      clearInterval(poll);
      l.close();
      removeBundle(b);
    }
  });

  test('terminal without a console socket cannot detach; a console socket without terminal is refused', () => {
    const b = bundleWith(['true']);
    try {
      const before = snapshot(TEST_ROOT);
      const id = uniqueId('ttydet');
      const r = tsoci(['run', '-d', '--bundle', b, id]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('cannot allocate tty if tsoci will detach without setting console socket');
      const spec = JSON.parse(fs.readFileSync(path.join(b, 'config.json'), 'utf8'));
      spec.process.terminal = false;
      fs.writeFileSync(path.join(b, 'config.json'), JSON.stringify(spec));
      const r2 = tsoci(['create', '--console-socket', '/tmp/whatever.sock', '--bundle', b, id]);
      expect(r2.status).toBe(1);
      expect(r2.stderr).toContain('process.terminal is false');
      expect(settledDiff(before, TEST_ROOT, { mentioning: [id, b] })).toEqual([]);
    } finally {
      removeBundle(b);
    }
  });
});

describe('console socket (exec)', () => {
  let bundle: string;
  let id: string;
  beforeAll(() => {
    bundle = bundleWith(['sleep', '600'], (s) => (s.process.terminal = false));
    id = uniqueId('ttyexec');
    expect(tsoci(['run', '-d', '--bundle', bundle, id]).status).toBe(0);
  });
  afterAll(() => {
    tsoci(['delete', '--force', id]);
    removeBundle(bundle);
  });

  test('exec --tty --console-socket --detach (conmon)', async () => {
    const l = new ConsoleListener(5000);
    try {
      const r = tsoci(['exec', '--tty', '--console-socket', l.path, '--detach', id, 'sh', '-c', 'tty; test -t 1 && echo X$((3*3)); stty size']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const out = await readMaster(l.receive().fd);
      expect(out).toMatch(/^\/dev\/pts\/\d+\r$/m);
      expect(out).toMatch(/^X9\r$/m);
    } finally {
      l.close();
    }
  });

  test('exec --process with terminal and consoleSize (containerd)', async () => {
    const l = new ConsoleListener(5000);
    const proc = path.join(bundle, 'proc.json');
    fs.writeFileSync(proc, JSON.stringify({ terminal: true, consoleSize: { height: 33, width: 77 }, args: ['sh', '-c', 'stty size'], cwd: '/', env: ['PATH=/bin'] }));
    try {
      const r = tsoci(['exec', '--process', proc, '--console-socket', l.path, '--detach', id]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(await readMaster(l.receive().fd)).toBe('33 77\r\n');
    } finally {
      l.close();
    }
  });

  test('exec with a missing console socket: clear error, nothing left, the container still runs', () => {
    const before = snapshot(TEST_ROOT);
    const r = tsoci(['exec', '--tty', '--console-socket', '/tmp/tsoci-no-such.sock', '--detach', id, 'true']);
    expect(r.status).toBe(255); // runc's exec failure status
    expect(r.stderr).toContain('connect console socket /tmp/tsoci-no-such.sock: no such file or directory (ENOENT)');
    expect(settledDiff(before, TEST_ROOT, { mentioning: [id] })).toEqual([]);
    expect(stateOf(id).status).toBe('running');
  });

  test('exec -t into a container without devpts: clear error, nothing left, the container still runs', () => {
    const b = bundleWith(['sleep', '600'], (s) => {
      s.process.terminal = false;
      s.mounts = s.mounts.filter((m: any) => m.destination !== '/dev/pts');
    });
    const other = uniqueId('ttyexecnopts');
    const l = new ConsoleListener(5000);
    try {
      expect(tsoci(['run', '-d', '--bundle', b, other]).status).toBe(0);
      const before = snapshot(TEST_ROOT);
      const r = tsoci(['exec', '-t', '--console-socket', l.path, '-d', other, 'true']);
      expect(r.status).toBe(255);
      expect(r.stderr).toContain('open /dev/pts/ptmx (is devpts mounted on /dev/pts?)');
      expect(settledDiff(before, TEST_ROOT, { mentioning: [other] })).toEqual([]);
      expect(stateOf(other).status).toBe('running');
    } finally {
      l.close();
      tsoci(['delete', '--force', other]);
      removeBundle(b);
    }
  });

  test('exec -t in the foreground of a missing command: the error, no console socket directory left', () => {
    const before = snapshot(TEST_ROOT);
    const r = ptyRun([TSOCI, '--root', TEST_ROOT, 'exec', '-t', id, 'no-such-command']);
    expect(r.status).toBe(255);
    expect(r.output).toContain('exec: "no-such-command": executable file not found in $PATH');
    expect(consoleTempDirs()).toEqual([]);
    expect(settledDiff(before, TEST_ROOT, { mentioning: [id] })).toEqual([]);
  });

  test('exec -t in the foreground without a console socket: tsoci relays, exit status passes through', () => {
    const r = ptyRun([TSOCI, '--root', TEST_ROOT, 'exec', '-t', id, 'sh', '-c', 'tty; echo R$((1+1)); read x; echo got-$x; exit 6'], {
      steps: [{ expect: 'R2', send: 'abc\r' }],
    });
    expect(r.timedOut).toBe(false);
    expect(r.status).toBe(6);
    expect(r.output).toMatch(/\/dev\/pts\/\d+\r\n/);
    expect(r.output).toContain('got-abc\r\n');
    expect(r.termiosRestored).toBe(true);
    expect(consoleTempDirs()).toEqual([]);
  });
});

describe('tsoci run in the foreground with a terminal and no console socket', () => {
  afterEach(() => deleteAll());

  test('relays stdin/stdout, takes and follows the terminal size, restores the terminal, passes the exit status', () => {
    const b = bundleWith(['sh', '-c', 'tty; stty size; echo R$((1+1))DY; read x; echo got-$x; stty size; exit 4'], (s) => {
      s.process.consoleSize = { height: 10, width: 10 }; // tsoci's own terminal wins, like runc
    });
    const id = uniqueId('ttyrun');
    try {
      const before = snapshot(TEST_ROOT);
      const r = ptyRun([TSOCI, '--root', TEST_ROOT, 'run', '--bundle', b, id], {
        rows: 40, cols: 120,
        steps: [{ expect: 'R2DY', resize: [50, 132] }, { expect: '', delay: 0.5, send: 'hello\r' }],
      });
      expect(r.timedOut).toBe(false);
      expect(r.status).toBe(4);
      // no "\r\r\n": like runc, the container's pty does not map NL to CR NL (ClearONLCR), our
      // raw terminal does (OPOST kept, containerd/console's SetRaw)
      expect(r.output).toBe('/dev/pts/0\r\n40 120\r\nR2DY\r\nhello\r\ngot-hello\r\n50 132\r\n');
      expect(r.termiosRestored).toBe(true);
      expect(consoleTempDirs()).toEqual([]);
      expect(settledDiff(before, TEST_ROOT, { mentioning: [id, b] })).toEqual([]);
    } finally {
      removeBundle(b);
    }
  });

  test('a failing create: the error, exit 1, no console socket directory and nothing else left', () => {
    const b = bundleWith(['no-such-command']);
    const id = uniqueId('ttyfail');
    try {
      const before = snapshot(TEST_ROOT);
      const r = ptyRun([TSOCI, '--root', TEST_ROOT, 'run', '--bundle', b, id]);
      expect(r.status).toBe(1);
      expect(r.output).toContain('executable file not found in $PATH');
      expect(r.termiosRestored).toBe(true);
      expect(consoleTempDirs()).toEqual([]);
      expect(settledDiff(before, TEST_ROOT, { mentioning: [id, b] })).toEqual([]);
    } finally {
      removeBundle(b);
    }
  });

  test('killed by a signal: 128+signal', () => {
    // no PID namespace: as PID 1 the shell could not be killed from inside
    const b = bundleWith(['sh', '-c', 'kill -9 $$'], (s) => (s.linux.namespaces = s.linux.namespaces.filter((n: any) => n.type !== 'pid')));
    try {
      const r = ptyRun([TSOCI, '--root', TEST_ROOT, 'run', '--bundle', b, uniqueId('ttysig')]);
      expect(r.status).toBe(137);
      expect(r.termiosRestored).toBe(true);
    } finally {
      removeBundle(b);
    }
  });

  test('under script(1) with stdin not a terminal of its own', () => {
    const b = bundleWith(['sh', '-c', 'test -t 0 && echo in-a-tty-$((2+3)); exit 3']);
    try {
      const r = spawnSync('script', ['-qec', `${TSOCI} --root ${TEST_ROOT} run --bundle ${b} ${uniqueId('ttyscript')}`, '/dev/null'], { encoding: 'utf8', timeout: 30000 });
      expect(r.status).toBe(3);
      expect(r.stdout).toContain('in-a-tty-5');
    } finally {
      removeBundle(b);
    }
  });
});
