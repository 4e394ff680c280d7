import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, REPO, TEST_ROOT, uniqueId } from '../helpers/tsoci';

// The cold path's own start-up, after Node's: which of Node's built-ins the common commands load.

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
  // terminal, ps and umount need them
  test('create, start, state, kill, delete, list and run without hooks or terminal load no child_process, net, tty or stream', () => {
    const id = uniqueId('builtins');
    const env = { ...process.env, TSOCI_TEST_BUILTINS_OUT: out };
    const loaded: Record<string, string[]> = {};
    for (const args of [['create', '--bundle', sleeper, id], ['start', id], ['state', id], ['kill', id, 'KILL'], ['delete', '--force', id], ['list'], ['run', '--bundle', once, `${id}-run`]]) {
      const r = runLoader(path.join(REPO, 'bin', 'loader.js'), TEST_ROOT, args, ['-r', path.join(REPO, 'test', 'fixtures', 'list-builtins.js')], env);
      expect({ args, ...r }).toMatchObject({ args, status: 0 });
      loaded[args[0]] = fs.readFileSync(out, 'utf8').split('\n').filter((m) => ['child_process', 'net', 'tty', 'stream'].includes(m));
    }
    expect(loaded).toEqual({ create: [], start: [], state: [], kill: [], delete: [], list: [], run: [] });
  });
});
