import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, REPO, TEST_ROOT, tsoci, uniqueId } from '../helpers/tsoci';

// The cold path's own start-up, after Node's: bin/loader.js's V8 code caches (one per
// command), and which of Node's built-ins the common commands load.

interface Ran {
  status: number | null;
  stderr: string;
}

/** node [nodeArgs] <loader> --root <root> args, output through files (a created container keeps its stdio) */
function runLoader(loader: string, root: string, args: string[], nodeArgs: string[] = [], env: NodeJS.ProcessEnv = process.env): Ran {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-cold-'));
  const err = fs.openSync(path.join(dir, 'err'), 'w+');
  try {
    const r = spawnSync(process.execPath, [...nodeArgs, loader, '--root', root, ...args], { stdio: ['ignore', 'ignore', err], env, timeout: 30000 });
    return { status: r.status, stderr: fs.readFileSync(path.join(dir, 'err'), 'utf8') };
  } finally {
    fs.closeSync(err);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('code caches (bin/loader.js)', () => {
  // a copy of the package's runtime files, so this test owns its dist/
  let pkg: string;
  let root: string;
  let specDir: string;
  const dist = (f = '') => path.join(pkg, 'dist', f);
  const caches = () => fs.readdirSync(dist()).filter((f) => f.includes('cache')).sort();
  const loader = () => path.join(pkg, 'bin', 'loader.js');
  const spec = () => {
    fs.rmSync(path.join(specDir, 'config.json'), { force: true });
    return runLoader(loader(), root, ['spec', '--bundle', specDir]);
  };

  beforeAll(() => {
    pkg = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-pkg-'));
    fs.mkdirSync(path.join(pkg, 'bin'));
    fs.mkdirSync(dist());
    fs.copyFileSync(path.join(REPO, 'bin', 'loader.js'), loader());
    for (const f of ['tsoci.js', 'build-id', 'systemd-dbus.js']) fs.copyFileSync(path.join(REPO, 'dist', f), dist(f));
    fs.symlinkSync(path.join(REPO, 'build'), path.join(pkg, 'build'));
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-cold-root-'));
    specDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-cold-spec-'));
  });
  afterAll(() => {
    for (const d of [pkg, root, specDir]) fs.rmSync(d, { recursive: true, force: true });
  });

  test("a command's first successful run saves its own cache, which later runs use as it is; a failed run saves none", () => {
    // none yet: the first success makes the build's (the fallback of commands without their own) and its own
    expect(runLoader(loader(), root, ['list']).status).toBe(0);
    expect(caches()).toEqual(['tsoci.js.cache', 'tsoci.js.list-cache']);
    const general = fs.readFileSync(dist('tsoci.js.cache'));

    expect(runLoader(loader(), root, ['state', 'no-such-container']).status).toBe(1);
    expect(caches()).toEqual(['tsoci.js.cache', 'tsoci.js.list-cache']);

    expect(spec().status).toBe(0);
    expect(caches()).toEqual(['tsoci.js.cache', 'tsoci.js.list-cache', 'tsoci.js.spec-cache']);
    expect(fs.readFileSync(dist('tsoci.js.cache')).equals(general)).toBe(true);
    // it holds what `spec` compiled beyond what the build's cache had
    const own = fs.readFileSync(dist('tsoci.js.spec-cache'));
    expect(own.length).toBeGreaterThan(general.length);

    // V8 accepts it: the loader rewrites a cache only when it was missing or rejected
    expect(spec().status).toBe(0);
    expect(fs.readFileSync(dist('tsoci.js.spec-cache')).equals(own)).toBe(true);
  });

  test('a cache V8 rejects (damaged, or made with other V8 flags) is replaced at the next successful run', () => {
    expect(spec().status).toBe(0);
    fs.writeFileSync(dist('tsoci.js.spec-cache'), 'not a code cache');
    expect(spec().status).toBe(0);
    const remade = fs.readFileSync(dist('tsoci.js.spec-cache'));
    expect(remade.length).toBeGreaterThan(1000);
    expect(spec().status).toBe(0);
    expect(fs.readFileSync(dist('tsoci.js.spec-cache')).equals(remade)).toBe(true);
    expect(caches()).not.toContainEqual(expect.stringMatching(/\.\d+$/)); // no temporary file left
  });
});

describe("Node's built-ins the common commands load", () => {
  let sleeper: string;
  let once: string;
  let out: string;
  beforeAll(() => {
    sleeper = makeBundle(testSpec(['sleep', '100']));
    once = makeBundle(testSpec(['true']));
    out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-builtins-')), 'list');
  });
  afterAll(() => {
    deleteAll();
    removeBundle(sleeper);
    removeBundle(once);
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  });

  // child_process loads net, dgram and streams (~4 ms), tty loads net (~7 ms): only hooks, a
  // terminal, ps and umount need them; fs.rmSync loads Node's rimraf (~0.6 ms) for any path
  test('create, start, state, kill, delete, list and run without hooks or terminal load no child_process, net, tty, stream or rimraf', () => {
    const id = uniqueId('builtins');
    const env = { ...process.env, TSOCI_TEST_BUILTINS_OUT: out };
    const loaded: Record<string, string[]> = {};
    for (const args of [['create', '--bundle', sleeper, id], ['start', id], ['state', id], ['kill', id, 'KILL'], ['delete', '--force', id], ['list'], ['run', '--bundle', once, `${id}-run`]]) {
      const r = runLoader(path.join(REPO, 'bin', 'loader.js'), TEST_ROOT, args, ['-r', path.join(REPO, 'test', 'fixtures', 'list-builtins.js')], env);
      expect({ args, ...r }).toMatchObject({ args, status: 0 });
      loaded[args[0]] = fs.readFileSync(out, 'utf8').split('\n').filter((m) => ['child_process', 'net', 'tty', 'stream', 'internal/fs/rimraf'].includes(m));
    }
    expect(loaded).toEqual({ create: [], start: [], state: [], kill: [], delete: [], list: [], run: [] });
  });
});

// Node loads NODE_EXTRA_CA_CERTS at start-up (~50 ms with Debian's bundle, which this host's
// environment names); tsoci makes no TLS connection: the launcher keeps it from Node, and the
// bundle puts it back for what it starts (src/util/caller-env.ts)
describe('NODE_EXTRA_CA_CERTS', () => {
  let tmp: string;
  let sleeper: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-ca-'));
    sleeper = makeBundle(testSpec(['sleep', '100']));
  });
  afterAll(() => {
    deleteAll();
    removeBundle(sleeper);
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  // cold: no pool in this directory
  const coldEnv = (extra: NodeJS.ProcessEnv) => ({ ...process.env, TSOCI_WARM_DIR: path.join(tmp, 'no-pool'), ...extra });

  test("bin/tsoci's Node does not load them (Node warns of a file it cannot load; node on the loader does)", () => {
    const env = coldEnv({ NODE_EXTRA_CA_CERTS: path.join(tmp, 'missing.pem') });
    expect(tsoci(['list'], { env })).toMatchObject({ status: 0, stderr: '' });
    const direct = runLoader(path.join(REPO, 'bin', 'loader.js'), TEST_ROOT, ['list'], [], env);
    expect(direct.stderr).toContain('Ignoring extra certs from');
  });

  test("what tsoci starts gets the caller's value, and not the launcher's record", () => {
    const id = uniqueId('ca');
    expect(tsoci(['create', '--bundle', sleeper, id]).status).toBe(0);
    // `tsoci ps` runs the `ps` it finds on PATH with its environment: a stand-in that saves it
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    const saved = path.join(tmp, 'ps-env');
    fs.writeFileSync(path.join(bin, 'ps'), `#!/bin/sh\nenv > ${saved}\necho '  PID CMD'\n`, { mode: 0o755 });
    const env = coldEnv({ NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/a b.pem', PATH: `${bin}:${process.env.PATH}` });
    expect(tsoci(['ps', id], { env })).toMatchObject({ status: 0, stderr: '' });
    const lines = fs.readFileSync(saved, 'utf8').split('\n');
    expect(lines).toContain('NODE_EXTRA_CA_CERTS=/etc/ssl/certs/a b.pem');
    expect(lines.filter((l) => l.startsWith('TSOCI_CALLER_'))).toEqual([]);
    expect(tsoci(['delete', '--force', id]).status).toBe(0);
  });
});
