import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, stateOf, tsoci, uniqueId, REPO, TEST_ROOT, TSOCI } from '../helpers/tsoci';
import { settledDiff, snapshot } from '../helpers/leaks';

// Foreground run and exec: every catchable signal reaches the process, the exit status
// is the process's, stage0 survives signals sent to the whole process group, and
// orphans of a container without a PID namespace are reaped.

// TSTP, TTIN and TTOU too: runc passes them on rather than stopping itself (a stopped runtime
// would leave the container running unwatched)
const FORWARDED = ['HUP', 'INT', 'USR1', 'USR2', 'WINCH', 'CONT', 'QUIT', 'ALRM', 'TSTP', 'TTIN', 'TTOU'];
const PTY_RUN = path.join(REPO, 'test', 'helpers', 'pty_run.py');

/** sh that prints got-<SIG> for each, exits 9 on TERM. */
const TRAPPER = [
  ...FORWARDED.map((s) => `trap "echo got-${s}" ${s}`),
  'trap "echo got-TERM; exit 9" TERM',
  'echo ready',
  'while true; do sleep 0.02; done',
].join('; ');

const noPidNs = (s: Record<string, any>) => {
  s.linux.namespaces = s.linux.namespaces.filter((n: { type: string }) => n.type !== 'pid');
  return s;
};

interface Running {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

function start(args: string[], opts: { detached?: boolean } = {}): Running {
  const child = spawn(TSOCI, ['--root', TEST_ROOT, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, sig) => resolve(code ?? (sig ? 128 : null))));
  return { child, out: () => out, exited };
}

async function until(cond: () => boolean, what: string, timeoutMs = 10000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Sends each signal, waits for the process to report it, then TERM: exit status 9. */
async function forwardEach(r: Running): Promise<void> {
  await until(() => r.out().includes('ready'), 'ready');
  for (const s of FORWARDED) {
    r.child.kill(`SIG${s}` as NodeJS.Signals);
    await until(() => r.out().includes(`got-${s}`), `got-${s} in ${JSON.stringify(r.out())}`);
  }
  r.child.kill('SIGTERM');
  expect(await r.exited).toBe(9);
  expect(r.out()).toContain('got-TERM');
}

let trapBundle: string;
beforeAll(() => {
  trapBundle = makeBundle(testSpec(['sh', '-c', TRAPPER]));
});
afterEach(() => deleteAll());
afterAll(() => removeBundle(trapBundle));

describe('signal forwarding', () => {
  test(`foreground run forwards ${FORWARDED.join(', ')} and TERM, and exits with the process's status`, async () => {
    await forwardEach(start(['run', '--bundle', trapBundle, uniqueId('fwd')]));
  });

  test('foreground exec forwards them too', async () => {
    const bundle = makeBundle(testSpec(['sleep', '600']));
    try {
      const id = uniqueId('xfwd');
      expect(tsoci(['run', '-d', '--bundle', bundle, id]).status).toBe(0);
      await forwardEach(start(['exec', id, 'sh', '-c', TRAPPER]));
      expect(stateOf(id).status).toBe('running');
    } finally {
      removeBundle(bundle);
    }
  });
});

describe('exit status', () => {
  test.each([
    ['a normal exit', 'exit 42', 42],
    ['death by SIGUSR1 (no PID namespace: the process can signal itself)', 'kill -USR1 $$; sleep 5', 138],
    ['death by SIGSEGV', 'kill -SEGV $$; sleep 5', 139],
  ])('%s', (_what, script, status) => {
    const bundle = makeBundle(noPidNs(testSpec(['sh', '-c', script as string])));
    try {
      expect(tsoci(['run', '--bundle', bundle, uniqueId('st')]).status).toBe(status);
    } finally {
      removeBundle(bundle);
    }
  });

  test('an OOM kill is 137', () => {
    const spec = testSpec(['sh', '-c', 'x=a; while true; do x="$x$x"; done']);
    spec.linux.resources = { memory: { limit: 32 * 1024 * 1024, swap: 32 * 1024 * 1024 } };
    const bundle = makeBundle(spec);
    try {
      expect(tsoci(['run', '--bundle', bundle, uniqueId('oom')], { timeoutMs: 30000 }).status).toBe(137);
    } finally {
      removeBundle(bundle);
    }
  });
});

describe('the caller\'s process group', () => {
  test.each(['SIGINT', 'SIGHUP'])('%s to the whole group (tsoci, stage0, the process): run exits with the process\'s status', async (sig) => {
    const spec = testSpec(['sh', '-c', 'trap "echo got-it; exit 5" INT HUP; echo ready; while true; do sleep 0.02; done']);
    const bundle = makeBundle(spec);
    try {
      const r = start(['run', '--bundle', bundle, uniqueId('pg')], { detached: true });
      await until(() => r.out().includes('ready'), 'ready');
      process.kill(-r.child.pid!, sig);
      expect(await r.exited).toBe(5);
      expect(r.out()).toContain('got-it');
    } finally {
      removeBundle(bundle);
    }
  });

  function ptyRun(argv: string[], steps: object[]) {
    const r = spawnSync('python3', [PTY_RUN, JSON.stringify({ argv, rows: 24, cols: 80, timeout: 20, steps })], { encoding: 'utf8', timeout: 40000 });
    if (r.status !== 0) throw new Error(`pty_run failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as { status: number; output: string; timedOut: boolean };
  }

  test.each([false, true])('Ctrl-C at a terminal reaches the process (process.terminal %s)', (terminal) => {
    const spec = testSpec(['sh', '-c', 'trap "echo got-int; exit 5" INT; echo ready; while true; do sleep 0.02; done']);
    spec.process.terminal = terminal;
    const bundle = makeBundle(spec);
    try {
      const r = ptyRun([TSOCI, '--root', TEST_ROOT, 'run', '--bundle', bundle, uniqueId('ctrlc')], [{ expect: 'ready', send: '\u0003' }]);
      expect(r.timedOut).toBe(false);
      expect(r.output).toContain('got-int');
      expect(r.status).toBe(5);
    } finally {
      removeBundle(bundle);
    }
  });
});

describe('reaping (foreground run is a child subreaper)', () => {
  test('a container without a PID namespace leaves no zombies, while it runs or after', async () => {
    // background children that outlive their parent shell, then the shell waits a while
    const script = '(sleep 0.1 &); (sleep 0.1 & sleep 0.1 &); sh -c "sleep 0.2 &"; echo spawned; sleep 1; echo done';
    const bundle = makeBundle(noPidNs(testSpec(['sh', '-c', script])));
    const id = uniqueId('reap');
    const before = snapshot(TEST_ROOT);
    try {
      const r = start(['run', '--bundle', bundle, id]);
      await until(() => r.out().includes('spawned'), 'spawned');
      await new Promise((res) => setTimeout(res, 600));
      // the orphans have exited by now: none is left as a zombie in the container's cgroup
      const zombies = zombiesOf(id);
      expect(zombies).toEqual([]);
      expect(await r.exited).toBe(0);
      expect(r.out()).toContain('done');
      expect(settledDiff(before, TEST_ROOT, { mentioning: [id, bundle] })).toEqual([]);
    } finally {
      removeBundle(bundle);
    }
  });

  test('orphans still running when the process exits are killed with the container', async () => {
    const bundle = makeBundle(noPidNs(testSpec(['sh', '-c', '(sleep 600 &); (sleep 600 &); echo spawned; exit 3'])));
    const id = uniqueId('orph');
    const before = snapshot(TEST_ROOT);
    try {
      const r = start(['run', '--bundle', bundle, id]);
      expect(await r.exited).toBe(3);
      expect(settledDiff(before, TEST_ROOT, { mentioning: [id, bundle] })).toEqual([]);
    } finally {
      removeBundle(bundle);
    }
  });
});

/** Zombie processes whose cgroup names the container (the default cgroup path holds the id). */
function zombiesOf(id: string): string[] {
  const out: string[] = [];
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat = '';
    let cg = '';
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      cg = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    } catch {
      continue;
    }
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z') && cg.includes(id)) out.push(stat.slice(0, stat.lastIndexOf(')') + 1));
  }
  return out;
}
