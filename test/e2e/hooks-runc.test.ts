import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { snapshot } from '../helpers/leaks';
import { hangingCommand, leftovers, processesNamed } from '../helpers/host-checks';
import { deleteAll, tsoci, uniqueId, TEST_ROOT } from '../helpers/tsoci';

// Hooks as runc's hooks.bats pins them down (libcontainer/configs Hooks.Run, Command.Run):
// "error running <kind> hook #<n>: exit status N, stdout: …, stderr: …", what a hook
// printed only in its failure, the process's environment for startContainer hooks.

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-hooks-runc-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
afterEach(() => deleteAll());

describe('the hook process', () => {
  test('a startContainer hook without env gets the process environment (HOME included); one with env only its own', () => {
    const spec = testSpec(['true']);
    spec.process.env = ['ONE=two', 'FOO=bar', 'ONE=three'];
    spec.hooks = {
      startContainer: [
        { path: '/bin/sh', args: ['sh', '-c', 'env > /tmp/inherit.env'] },
        { path: '/bin/sh', args: ['sh', '-c', 'env > /tmp/own.env'], env: ['OWN=1'] },
      ],
    };
    const bundle = makeBundle(spec);
    try {
      expect(tsoci(['run', '--bundle', bundle, uniqueId('scenv')])).toMatchObject({ status: 0, stderr: '' });
      const inherit = fs.readFileSync(path.join(bundle, 'rootfs/tmp/inherit.env'), 'utf8').split('\n');
      expect(inherit).toEqual(expect.arrayContaining(['ONE=three', 'FOO=bar', 'HOME=/root']));
      expect(inherit).not.toContain('ONE=two');
      const own = fs.readFileSync(path.join(bundle, 'rootfs/tmp/own.env'), 'utf8').split('\n');
      expect(own).toContain('OWN=1');
      expect(own.some((l) => l.startsWith('FOO=') || l.startsWith('HOME=/root'))).toBe(false);
    } finally {
      removeBundle(bundle);
    }
  });

  test.each(['prestart', 'createContainer'])('a %s hook that leaves a process holding its output does not hang the runtime', (kind) => {
    const hang = hangingCommand(work);
    const spec = testSpec(['true']);
    spec.hooks = { [kind]: [{ path: '/bin/sh', args: ['sh', '-c', `${hang.path} 30 & echo started`] }] };
    const bundle = makeBundle(spec);
    try {
      const t0 = Date.now();
      expect(tsoci(['run', '--bundle', bundle, uniqueId('linger')])).toMatchObject({ status: 0, stdout: '', stderr: '' });
      expect(Date.now() - t0).toBeLessThan(10000);
    } finally {
      for (const l of processesNamed(hang.name)) {
        try {
          process.kill(Number(l.split(' ')[0]), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      removeBundle(bundle);
    }
  });
});

test('a createContainer hook runs in the rootfs (relative paths reach into it), as runc\'s', () => {
  const spec = testSpec(['true']);
  const out = path.join(work, uniqueId('cwd') + '.txt');
  spec.hooks = { createContainer: [{ path: '/bin/sh', args: ['sh', '-c', `pwd > ${out}; touch ./tmp/made-by-hook`] }] };
  const bundle = makeBundle(spec);
  try {
    expect(tsoci(['run', '--bundle', bundle, uniqueId('cwd')])).toMatchObject({ status: 0, stderr: '' });
    expect(fs.readFileSync(out, 'utf8').trim()).toBe(fs.realpathSync(path.join(bundle, 'rootfs')));
    expect(fs.existsSync(path.join(bundle, 'rootfs/tmp/made-by-hook'))).toBe(true);
  } finally {
    removeBundle(bundle);
  }
});

describe("failures: runc's message, with what the hook printed", () => {
  test.each(['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart'])(
    'a failing %s hook: "error running <kind> hook #1: exit status 5, stdout: …, stderr: …" (runc)',
    (kind) => {
      const spec = testSpec(['sh', '-c', 'echo should-not-run']);
      spec.hooks = { [kind]: [{ path: '/bin/true' }, { path: '/bin/sh', args: ['sh', '-c', `echo ${kind}-out; echo ${kind}-err >&2; exit 5`] }] };
      const bundle = makeBundle(spec);
      const id = uniqueId('fail1');
      const before = snapshot(TEST_ROOT);
      try {
        const r = tsoci(['run', '--bundle', bundle, id]);
        expect(r.status).not.toBe(0);
        // one line: the hook's newlines are escaped
        expect(r.stderr).toContain(`error running ${kind} hook #1: exit status 5, stdout: ${kind}-out\\n, stderr: ${kind}-err\\n`);
        if (kind !== 'poststart') expect(r.stdout).not.toContain('should-not-run');
        expect(leftovers(before, id, bundle)).toEqual([]);
      } finally {
        removeBundle(bundle);
      }
    },
  );

  test('a hook killed by a signal: "signal: killed"', () => {
    const spec = testSpec(['true']);
    spec.hooks = { prestart: [{ path: '/bin/sh', args: ['sh', '-c', 'kill -9 $$'] }], createContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'kill -9 $$'] }] };
    const bundle = makeBundle(spec);
    try {
      expect(tsoci(['run', '--bundle', bundle, uniqueId('sig')]).stderr).toContain('error running prestart hook #0: signal: killed, stdout: , stderr: ');
      delete spec.hooks.prestart;
      fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
      expect(tsoci(['run', '--bundle', bundle, uniqueId('sig')]).stderr).toContain('error running createContainer hook #0: signal: killed, stdout: , stderr: ');
    } finally {
      removeBundle(bundle);
    }
  });

  test('a missing prestart executable fails create with ENOENT', () => {
    const spec = testSpec(['true']);
    spec.hooks = { prestart: [{ path: '/nonexistent/hook' }] };
    const bundle = makeBundle(spec);
    try {
      const r = tsoci(['create', '--bundle', bundle, uniqueId('nohook')]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('error running prestart hook #0: fork/exec /nonexistent/hook: no such file or directory');
    } finally {
      removeBundle(bundle);
    }
  });
});
