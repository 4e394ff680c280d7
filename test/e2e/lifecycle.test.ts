import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, stateOf, tsoci, tsociAsync, uniqueId, TEST_ROOT, TSOCI } from '../helpers/tsoci';

// The OCI lifecycle through the real CLI, real namespaces, real processes.
describe('lifecycle: create / start / state / kill / delete', () => {
  let bundle: string;
  beforeAll(() => {
    bundle = makeBundle(testSpec(['sh', '-c', 'echo started > /tmp/marker; sleep 600']));
  });
  afterEach(() => deleteAll());
  afterAll(() => removeBundle(bundle));

  test('create leaves the process waiting; start runs it; kill stops it; delete removes it', () => {
    const id = uniqueId('life');
    const pidFile = path.join(bundle, 'pid');
    expect(tsoci(['create', '--bundle', bundle, '--pid-file', pidFile, id]).stderr).toBe('');
    const created = stateOf(id);
    expect(created).toMatchObject({ ociVersion: '1.3.0', id, status: 'created', bundle });
    expect(created.pid).toBeGreaterThan(0);
    expect(Number(fs.readFileSync(pidFile, 'utf8'))).toBe(created.pid);
    expect(created.rootfs).toBe(path.join(bundle, 'rootfs'));
    expect(new Date(created.created).toISOString()).toBe(created.created);
    expect(created.owner).toBe('root');
    // process.args has not run before start
    expect(fs.existsSync(path.join(bundle, 'rootfs/tmp/marker'))).toBe(false);
    expect(fs.readFileSync(`/proc/${created.pid}/cmdline`, 'utf8')).not.toContain('sleep');

    expect(tsoci(['start', id]).status).toBe(0);
    expect(stateOf(id).status).toBe('running');
    waitFor(() => fs.existsSync(path.join(bundle, 'rootfs/tmp/marker')));
    expect(fs.readFileSync(`/proc/${created.pid}/cmdline`, 'utf8')).toContain('sleep');

    expect(tsoci(['kill', id, 'KILL']).status).toBe(0);
    waitFor(() => stateOf(id).status === 'stopped');
    expect(tsoci(['delete', id]).status).toBe(0);
    expect(tsoci(['state', id]).stderr).toContain(`container "${id}" does not exist`);
    expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
    fs.rmSync(path.join(bundle, 'rootfs/tmp/marker'), { force: true });
  });

  test('kill accepts numbers and names with or without SIG; default is SIGTERM', () => {
    const trapping = makeBundle(testSpec(['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.05; done']));
    try {
      for (const [sig, b] of [['9', bundle], ['KILL', bundle], ['SIGKILL', bundle], ['15', trapping], ['TERM', trapping], [undefined, trapping]] as const) {
        const id = uniqueId('sig');
        expect(tsoci(['create', '--bundle', b, id]).status).toBe(0);
        expect(tsoci(['start', id]).status).toBe(0);
        const r = tsoci(sig ? ['kill', id, sig] : ['kill', id]);
        expect(r.stderr).toBe('');
        // the container stops only if the signal it was sent is the one named
        waitFor(() => stateOf(id).status === 'stopped');
        expect(tsoci(['delete', id]).status).toBe(0);
      }
    } finally {
      removeBundle(trapping);
    }
  });

  test('a created container can be killed and deleted without being started', () => {
    const id = uniqueId('nostart');
    expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
    expect(tsoci(['delete', id]).status).toBe(0);
    expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
  });

  test("a created container ends on SIGTERM (kill TERM, or sent to its pid), as runc's does", () => {
    for (const how of ['kill', 'signal']) {
      const id = uniqueId('termcreated');
      expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
      const pid = stateOf(id).pid;
      if (how === 'kill') expect(tsoci(['kill', id, 'TERM']).status).toBe(0);
      else process.kill(pid, 'SIGTERM');
      waitFor(() => stateOf(id).status === 'stopped');
      expect(tsoci(['delete', id]).status).toBe(0);
    }
  });

  test('a removal killed between its rename and its rmdir is cleared by the next list or delete --force of a missing id', () => {
    // a dead pid (a child that has exited and been reaped) and a live one (this test's)
    const dead = spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim();
    const stale = [path.join(TEST_ROOT, `.removing-${dead}-a-1`), path.join(TEST_ROOT, `.removing-${dead}-b-2`)];
    const live = path.join(TEST_ROOT, `.removing-${process.pid}-c-3`);
    try {
      for (const d of [...stale, live]) {
        fs.mkdirSync(d, { recursive: true });
        fs.writeFileSync(path.join(d, 'state.json'), '{}');
      }
      expect(tsoci(['list', '-q'])).toMatchObject({ status: 0, stderr: '' });
      expect(fs.existsSync(stale[0])).toBe(false);
      expect(fs.existsSync(live)).toBe(true); // its tsoci may still be at work
      fs.mkdirSync(stale[0]);
      expect(tsoci(['delete', '--force', uniqueId('gone')])).toMatchObject({ status: 0, stderr: '' });
      expect(fs.existsSync(stale[0])).toBe(false);
      expect(fs.existsSync(live)).toBe(true);
    } finally {
      for (const d of [...stale, live]) fs.rmSync(d, { recursive: true, force: true });
    }
  });

  test('list shows containers in table, json and quiet formats', () => {
    const id = uniqueId('list');
    expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
    const json = JSON.parse(tsoci(['list', '--format', 'json']).stdout);
    expect(json.find((c: any) => c.id === id)).toMatchObject({ status: 'created', bundle });
    // runc's key order (runc's list.bats matches the JSON text)
    expect(Object.keys(json.find((c: any) => c.id === id)).slice(0, 4)).toEqual(['ociVersion', 'id', 'pid', 'status']);
    expect(tsoci(['list', '-q']).stdout.split('\n')).toContain(id);
    const table = tsoci(['list']).stdout;
    expect(table.split('\n')[0]).toMatch(/^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER$/);
    expect(table).toMatch(new RegExp(`${id}\\s+\\d+\\s+created`));
  });

  test('kill of a stopped container: "container not running", but with --all (obsolete) no error, as runc >= 1.2', () => {
    const id = uniqueId('killall');
    expect(tsoci(['run', '-d', '--bundle', bundle, id]).status).toBe(0);
    expect(tsoci(['kill', id, 'KILL']).status).toBe(0);
    waitFor(() => stateOf(id).status === 'stopped');
    const r = tsoci(['kill', id, '0']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('container not running');
    expect(tsoci(['kill', '--all', id, '0'])).toMatchObject({ status: 0, stderr: '' });
    expect(tsoci(['delete', id]).status).toBe(0);
  });

  test('list with a --root that does not exist fails (runc >= 1.2); the default root missing is an empty list', () => {
    const missing = path.join(TEST_ROOT, uniqueId('no-such-root'));
    const r = tsoci(['list'], { root: missing });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toMatch(new RegExp(`open ${missing}: no such file or directory`));
    expect(fs.existsSync(missing)).toBe(false);
    // no --root: the default root (here under an XDG_RUNTIME_DIR that has no tsoci dir yet) is not an error
    const xdg = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-list-xdg-'));
    fs.chmodSync(xdg, 0o777);
    try {
      const u = spawnSync(TSOCI, ['list', '-q'], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: xdg }, uid: 65534, gid: 65534 });
      expect(u.stderr).toBe('');
      expect(u.status).toBe(0);
    } finally {
      fs.rmSync(xdg, { recursive: true, force: true });
    }
  });

  test('state says stopped when the init was killed between create and start, and delete cleans up', () => {
    const id = uniqueId('dead');
    expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
    const { pid } = stateOf(id);
    process.kill(pid, 'SIGKILL');
    waitFor(() => stateOf(id).status === 'stopped');
    expect(tsoci(['start', id]).stderr).toContain('stopped');
    expect(tsoci(['delete', id]).status).toBe(0);
  });

  test('two concurrent creates of one id: exactly one wins, the other fails cleanly', async () => {
    const id = uniqueId('race');
    const results = await Promise.all([1, 2, 3].map(() => tsociAsync(['create', '--bundle', bundle, id])));
    const ok = results.filter((r) => r.status === 0);
    expect(ok).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 0)) {
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`container with id exists: ${id}`);
    }
    expect(stateOf(id).status).toBe('created');
  });
});

describe('run', () => {
  afterEach(() => deleteAll());

  test('runs in the foreground, prints the output and returns the exit status; deletes afterwards', () => {
    const bundle = makeBundle(testSpec(['sh', '-c', 'echo hello from $(hostname); exit 7']));
    try {
      const id = uniqueId('run');
      const r = tsoci(['run', '--bundle', bundle, id]);
      expect(r.stdout).toBe('hello from tsoci-test\n');
      expect(r.status).toBe(7);
      expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
    } finally {
      removeBundle(bundle);
    }
  });

  test('exit status is 128+signal when the process is killed; --keep keeps the state', () => {
    // without a PID namespace of its own: a namespace's init cannot be killed from inside
    const spec = testSpec(['sh', '-c', 'kill -9 $$']);
    spec.linux.namespaces = spec.linux.namespaces.filter((n: { type: string }) => n.type !== 'pid');
    const bundle = makeBundle(spec);
    try {
      const id = uniqueId('runsig');
      const r = tsoci(['run', '--keep', '--bundle', bundle, id]);
      expect(r.status).toBe(137);
      expect(stateOf(id).status).toBe('stopped');
      expect(tsoci(['delete', id]).status).toBe(0);
    } finally {
      removeBundle(bundle);
    }
  });

  test('run --detach returns while the container runs', () => {
    const bundle = makeBundle(testSpec(['sleep', '600']));
    try {
      const id = uniqueId('rund');
      const pidFile = path.join(bundle, 'run.pid');
      const r = tsoci(['run', '-d', '--pid-file', pidFile, '--bundle', bundle, id]);
      expect(r.status).toBe(0);
      const st = stateOf(id);
      expect(st.status).toBe('running');
      expect(Number(fs.readFileSync(pidFile, 'utf8'))).toBe(st.pid);
      expect(tsoci(['delete', id]).stderr).toContain('not stopped');
      expect(stateOf(id).status).toBe('running');
      expect(tsoci(['delete', '--force', id]).status).toBe(0);
    } finally {
      removeBundle(bundle);
    }
  });

  test('foreground run forwards signals to the container process', async () => {
    const bundle = makeBundle(testSpec(['sh', '-c', 'trap "echo got-usr1; exit 3" USR1; echo ready; while true; do sleep 0.1; done']));
    try {
      const id = uniqueId('fwd');
      const { spawn } = await import('child_process');
      const { TSOCI } = await import('../helpers/tsoci');
      const child = spawn(TSOCI, ['--root', TEST_ROOT, 'run', '--bundle', bundle, id], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      await waitForAsync(() => out.includes('ready'));
      child.kill('SIGUSR1');
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(out).toContain('got-usr1');
      expect(code).toBe(3);
    } finally {
      removeBundle(bundle);
    }
  });
});

function waitFor(cond: () => boolean, timeoutMs = 10000): void {
  const end = Date.now() + timeoutMs;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    Atomics.wait(sleeper, 0, 0, 20);
  }
}

async function waitForAsync(cond: () => boolean, timeoutMs = 10000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
