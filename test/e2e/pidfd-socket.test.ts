import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { settledDiff, snapshot } from '../helpers/leaks';
import { deleteAll, REPO, stateOf, tsoci, uniqueId, TEST_ROOT } from '../helpers/tsoci';

// --pidfd-socket (runc 1.2+, pidfd-socket.bats): create, run and exec send a pidfd of the
// process they started to a unix socket, which its receiver can signal race-free.

interface Addon {
  consoleListen(path: string): number | { errno: number; error: string };
  consoleRecvFd(fd: number, timeoutMs: number): { fd: number; name: string } | { errno: number; error: string };
}
// eslint-disable-next-line @typescript-eslint/no-var-requires
const addon = require(path.join(REPO, 'build', 'Release', 'tsoci.node')) as Addon;

let dir: string;
let bundle: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-out-pidfd-'));
  bundle = makeBundle(testSpec(['sleep', '600']));
});
afterAll(() => {
  deleteAll();
  removeBundle(bundle);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Listens on a fresh socket; receive() returns the pid the received pidfd refers to. */
function listener(): { path: string; receive(): number } {
  const p = path.join(dir, uniqueId('s') + '.sock');
  const l = addon.consoleListen(p);
  if (typeof l !== 'number') throw new Error(l.error);
  return {
    path: p,
    receive() {
      const r = addon.consoleRecvFd(l, 5000);
      fs.closeSync(l);
      if (!('fd' in r)) throw new Error(r.error);
      try {
        expect(fs.readlinkSync(`/proc/self/fd/${r.fd}`)).toBe('anon_inode:[pidfd]');
        return Number(/^Pid:\s+(-?\d+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${r.fd}`, 'utf8'))?.[1]);
      } finally {
        fs.closeSync(r.fd);
      }
    },
  };
}

test('create and run -d: the pidfd is the container process', () => {
  for (const verb of [['create'], ['run', '-d']]) {
    const l = listener();
    const id = uniqueId('pidfd');
    expect(tsoci([...verb, '--pidfd-socket', l.path, '--bundle', bundle, id])).toMatchObject({ status: 0, stderr: '' });
    expect(l.receive()).toBe(stateOf(id).pid);
    expect(tsoci(['delete', '--force', id]).status).toBe(0);
  }
});

test('exec -d: the pidfd is the exec\'d process', () => {
  const id = uniqueId('pidfdx');
  expect(tsoci(['run', '-d', '--bundle', bundle, id]).status).toBe(0);
  const l = listener();
  const pidFile = path.join(dir, 'exec.pid');
  expect(tsoci(['exec', '-d', '--pid-file', pidFile, '--pidfd-socket', l.path, id, 'sleep', '600'])).toMatchObject({ status: 0, stderr: '' });
  expect(l.receive()).toBe(Number(fs.readFileSync(pidFile, 'utf8')));
  expect(tsoci(['delete', '--force', id]).status).toBe(0);
});

test('a socket nobody listens on: create fails (1) and exec fails (255), leaving nothing', () => {
  const missing = path.join(dir, 'none.sock');
  const id = uniqueId('pidfdfail');
  const before = snapshot(TEST_ROOT);
  const c = tsoci(['create', '--pidfd-socket', missing, '--bundle', bundle, id]);
  expect(c.status).toBe(1);
  expect(c.stderr).toBe(`pidfd socket: connect pidfd socket ${missing}: no such file or directory (ENOENT)\n`);
  expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
  expect(settledDiff(before, TEST_ROOT, { mentioning: [id] })).toEqual([]);

  expect(tsoci(['run', '-d', '--bundle', bundle, id]).status).toBe(0);
  const x = tsoci(['exec', '-d', '--pidfd-socket', missing, id, 'sleep', '600']);
  expect(x.status).toBe(255);
  expect(x.stderr).toContain(`exec failed: pidfd socket: connect pidfd socket ${missing}`);
  expect(stateOf(id).status).toBe('running');
  // the exec'd process did not outlive the failure
  const ps = tsoci(['exec', id, 'ps', '-o', 'args']).stdout.split('\n').filter((l) => l.includes('sleep 600'));
  expect(ps).toHaveLength(1);
  expect(tsoci(['delete', '--force', id]).status).toBe(0);
});
