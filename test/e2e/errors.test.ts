import * as fs from 'fs';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, stateOf, tsoci, uniqueId, TEST_ROOT } from '../helpers/tsoci';
import { snapshot, diff } from '../helpers/leaks';

// Every failure: a clear message, exit status 1, nothing left behind.
describe('errors leave nothing behind', () => {
  let bundle: string;
  beforeAll(() => {
    bundle = makeBundle(testSpec(['sleep', '600']));
  });
  afterEach(() => deleteAll());
  afterAll(() => removeBundle(bundle));

  function expectCleanFailure(args: string[], message: string | RegExp, id: string): void {
    const before = snapshot(TEST_ROOT);
    const r = tsoci(args);
    expect(r.status).toBe(1);
    if (typeof message === 'string') expect(r.stderr).toContain(message);
    else expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
    expect(settledDiff(before)).toEqual([]);
  }

  /** An orphaned init killed on failure is reaped by the host's PID 1 a moment later. */
  function settledDiff(before: ReturnType<typeof snapshot>): string[] {
    let leaks = diff(before, snapshot(TEST_ROOT));
    for (let i = 0; i < 50 && leaks.length > 0; i++) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      leaks = diff(before, snapshot(TEST_ROOT));
    }
    return leaks;
  }

  function bundleWith(config: string | object | null): string {
    const b = makeBundle({});
    if (config === null) fs.rmSync(path.join(b, 'config.json'));
    else fs.writeFileSync(path.join(b, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
    return b;
  }

  test.each([
    ['empty', ''],
    ['slash', 'a/b'],
    ['dot', '.'],
    ['dotdot', '..'],
    ['too long', 'x'.repeat(1025)],
  ])('invalid id (%s) is rejected', (_what, id) => {
    const r = tsoci(['create', '--bundle', bundle, id]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/invalid container id|id must not be empty|Not enough non-option arguments/);
    expect(fs.readdirSync(TEST_ROOT, { withFileTypes: true }).filter((e) => e.name === id)).toEqual([]);
  });

  test('create of an existing id fails and leaves the existing container untouched', () => {
    const id = uniqueId('dup');
    expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
    const before = stateOf(id);
    const r = tsoci(['create', '--bundle', bundle, id]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`container with id exists: ${id}`);
    expect(stateOf(id)).toEqual(before);
  });

  test('missing bundle', () => {
    const id = uniqueId('nob');
    expectCleanFailure(['create', '--bundle', '/nonexistent/bundle', id], /\/nonexistent\/bundle.*no such file or directory/, id);
  });

  test('missing config.json', () => {
    const b = bundleWith(null);
    const id = uniqueId('nocfg');
    try {
      expectCleanFailure(['create', '--bundle', b, id], /config\.json.*no such file or directory/, id);
    } finally {
      removeBundle(b);
    }
  });

  test('invalid JSON', () => {
    const b = bundleWith('{"ociVersion": "1.3.0",');
    const id = uniqueId('badjson');
    try {
      expectCleanFailure(['create', '--bundle', b, id], /config\.json.*(JSON|json)/, id);
    } finally {
      removeBundle(b);
    }
  });

  test('schema violations are all named by JSON path', () => {
    const spec = testSpec(['true']);
    spec.process.args = 'true';
    spec.process.user.uid = -1;
    const b = bundleWith(spec);
    const id = uniqueId('schema');
    try {
      expectCleanFailure(['create', '--bundle', b, id], '/process/args: must be array', id);
      expect(tsoci(['create', '--bundle', b, id]).stderr).toMatch(/\/process\/user\/uid/);
    } finally {
      removeBundle(b);
    }
  });

  test('missing rootfs', () => {
    const b = bundleWith(testSpec(['true']));
    fs.rmSync(path.join(b, 'rootfs'), { recursive: true });
    const id = uniqueId('norootfs');
    try {
      expectCleanFailure(['create', '--bundle', b, id], /rootfs.*no such file or directory/, id);
    } finally {
      removeBundle(b);
    }
  });

  test('an executable not found in $PATH fails create', () => {
    const b = makeBundle(testSpec(['no-such-command']));
    const id = uniqueId('noexe');
    try {
      expectCleanFailure(['create', '--bundle', b, id], 'executable file not found in $PATH', id);
    } finally {
      removeBundle(b);
    }
  });

  test('an absolute executable path that does not exist fails create', () => {
    const b = makeBundle(testSpec(['/bin/nope']));
    const id = uniqueId('noabs');
    try {
      expectCleanFailure(['create', '--bundle', b, id], 'no such file or directory', id);
    } finally {
      removeBundle(b);
    }
  });

  test('a mount that cannot be made fails create with the mount named', () => {
    const spec = testSpec(['true']);
    spec.mounts.push({ destination: '/mnt/x', type: 'nosuchfs', source: 'none' });
    const b = makeBundle(spec);
    const id = uniqueId('badmount');
    try {
      expectCleanFailure(['create', '--bundle', b, id], /\/mnt\/x/, id);
    } finally {
      removeBundle(b);
    }
  });

  test('start of a running container, kill of a stopped one, delete of a running one: errors with no effect', () => {
    const id = uniqueId('noeffect');
    expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
    expect(tsoci(['start', id]).status).toBe(0);
    const r1 = tsoci(['start', id]);
    expect(r1.status).toBe(1);
    expect(r1.stderr).toContain('running');
    const r2 = tsoci(['delete', id]);
    expect(r2.status).toBe(1);
    expect(r2.stderr).toContain('not stopped');
    expect(stateOf(id).status).toBe('running');
    expect(tsoci(['kill', id, '9']).status).toBe(0);
    for (let i = 0; i < 200 && stateOf(id).status !== 'stopped'; i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    const r3 = tsoci(['kill', id, '9']);
    expect(r3.status).toBe(1);
    expect(r3.stderr).toContain('container not running');
    expect(tsoci(['delete', id]).status).toBe(0);
  });

  test('unknown ids: state/start/kill/delete fail; delete --force succeeds', () => {
    for (const verb of ['state', 'start', 'kill', 'delete']) {
      const r = tsoci([verb, 'no-such-container']);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('container "no-such-container" does not exist');
    }
    expect(tsoci(['delete', '--force', 'no-such-container']).status).toBe(0);
  });

  test('invalid signal', () => {
    const id = uniqueId('badsig');
    expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
    const r = tsoci(['kill', id, 'SIGNOPE']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('invalid signal "SIGNOPE"');
    expect(stateOf(id).status).toBe('created');
  });

  test('--log with --log-format json writes each error as one JSON line', () => {
    const log = path.join(bundle, 'log.json');
    const r = tsoci(['--log', log, '--log-format', 'json', 'state', 'missing-one']);
    expect(r.status).toBe(1);
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]);
    expect(entry).toMatchObject({ level: 'error', msg: 'container "missing-one" does not exist' });
    expect(new Date(entry.time).getTime()).not.toBeNaN();
    fs.rmSync(log);
  });
});
