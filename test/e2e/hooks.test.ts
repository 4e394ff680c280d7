import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { snapshot } from '../helpers/leaks';
import { hangingCommand, leftovers, processesNamed } from '../helpers/host-checks';
import { deleteAll, stateOf, tsoci, uniqueId, TEST_ROOT } from '../helpers/tsoci';

// The six kinds of hooks (runtime-spec 1.3 config.md#posix-platform-hooks), observed from
// real hooks: each appends "<stage> <mnt ns> <pid ns> <state JSON from stdin>" to a log.

const HOST_MNT = fs.readlinkSync('/proc/self/ns/mnt');
const HOST_PID = fs.readlinkSync('/proc/self/ns/pid');

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-hooks-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
afterEach(() => deleteAll());

/** A hook run by the host's /bin/sh (runtime-namespace path) that logs what it sees. */
function logHook(stage: string, log: string, extra: Record<string, unknown> = {}) {
  const script = `printf '%s %s %s %s\\n' ${stage} "$(readlink /proc/self/ns/mnt)" "$(readlink /proc/self/ns/pid)" "$(cat)" >> ${log}`;
  return { path: '/bin/sh', args: ['sh', '-c', script], ...extra };
}

interface Entry {
  stage: string;
  mnt: string;
  pid: string;
  state: Record<string, any>;
}

function readLog(file: string): Entry[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => {
    const [stage, mnt, pid, ...rest] = l.split(' ');
    return { stage, mnt, pid, state: JSON.parse(rest.join(' ')) };
  });
}

function waitFor(cond: () => boolean, ms = 5000): void {
  const end = Date.now() + ms;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    Atomics.wait(sleeper, 0, 0, 20);
  }
}

function aliveNotZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('hooks: order, namespaces, state', () => {
  test('all six kinds run in order, in the right namespaces, with the state on stdin', () => {
    const log = path.join(work, uniqueId('order') + '.log');
    const spec = testSpec(['sh', '-c', 'readlink /proc/self/ns/mnt > /tmp/ns-mnt; readlink /proc/self/ns/pid >> /tmp/ns-mnt; sleep 600']);
    spec.annotations = { 'org.example.hooks': 'yes' };
    spec.hooks = {
      prestart: [logHook('prestart', log)],
      createRuntime: [logHook('createRuntime', log), logHook('createRuntime2', log)],
      createContainer: [logHook('createContainer', log)],
      // the path resolves in the container: busybox sh of the rootfs, logging into the rootfs
      startContainer: [{ path: '/bin/sh', args: ['sh', '-c', `printf '%s %s %s %s\\n' startContainer "$(readlink /proc/self/ns/mnt)" "$(readlink /proc/self/ns/pid)" "$(cat)" >> /tmp/start.log`] }],
      poststart: [logHook('poststart', log)],
      poststop: [logHook('poststop', log)],
    };
    const bundle = makeBundle(spec);
    const id = uniqueId('hooks');
    try {
      const c = tsoci(['create', '--bundle', bundle, id]);
      expect(c.stderr).toBe('');
      const pid = stateOf(id).pid;
      const containerMnt = fs.readlinkSync(`/proc/${pid}/ns/mnt`);
      const containerPid = fs.readlinkSync(`/proc/${pid}/ns/pid`);
      expect(readLog(log).map((e) => e.stage)).toEqual(['prestart', 'createRuntime', 'createRuntime2', 'createContainer']);
      const startLog = path.join(bundle, 'rootfs/tmp/start.log');
      expect(fs.existsSync(startLog)).toBe(false); // only at start

      expect(tsoci(['start', id]).stderr).toBe('');
      expect(readLog(log).map((e) => e.stage)).toEqual(['prestart', 'createRuntime', 'createRuntime2', 'createContainer', 'poststart']);
      const [start] = readLog(startLog);
      waitFor(() => fs.existsSync(path.join(bundle, 'rootfs/tmp/ns-mnt')) && fs.readFileSync(path.join(bundle, 'rootfs/tmp/ns-mnt'), 'utf8').split('\n').length > 2);
      const [procMnt, procPid] = fs.readFileSync(path.join(bundle, 'rootfs/tmp/ns-mnt'), 'utf8').trim().split('\n');
      expect(procMnt).toBe(containerMnt);
      expect(procPid).toBe(containerPid);

      expect(tsoci(['kill', id, 'KILL']).status).toBe(0);
      waitFor(() => stateOf(id).status === 'stopped');
      expect(tsoci(['delete', id]).stderr).toBe('');
      const entries = readLog(log);
      expect(entries.map((e) => e.stage)).toEqual(['prestart', 'createRuntime', 'createRuntime2', 'createContainer', 'poststart', 'poststop']);
      const by = Object.fromEntries(entries.map((e) => [e.stage, e]));

      // runtime namespace: the host's mount and PID namespaces, the host pid
      for (const s of ['prestart', 'createRuntime', 'poststart', 'poststop']) {
        expect(by[s].mnt).toBe(HOST_MNT);
        expect(by[s].pid).toBe(HOST_PID);
        expect(by[s].state).toMatchObject({ ociVersion: '1.3.0', id, pid, bundle, annotations: { 'org.example.hooks': 'yes' } });
      }
      // container namespace: the container's mount and PID namespaces, pid as seen inside (1)
      expect(by.createContainer.mnt).toBe(containerMnt);
      expect(by.createContainer.pid).toBe(containerPid);
      expect(start.mnt).toBe(containerMnt);
      expect(start.pid).toBe(containerPid);
      expect(by.createContainer.state).toMatchObject({ id, pid: 1, bundle, annotations: { 'org.example.hooks': 'yes' } });
      expect(start.state).toMatchObject({ id, pid: 1, bundle });

      // the status each hook sees
      expect(by.prestart.state.status).toBe('creating');
      expect(by.createRuntime.state.status).toBe('creating');
      expect(by.createContainer.state.status).toBe('creating');
      expect(start.state.status).toBe('created');
      expect(by.poststart.state.status).toBe('running');
      expect(by.poststop.state.status).toBe('stopped');
    } finally {
      removeBundle(bundle);
    }
  });

  test('createContainer resolves its path in the runtime namespace, startContainer in the container', () => {
    // a file only the host has / a file only the rootfs has
    const hostOnly = path.join(work, uniqueId('hostonly'));
    const hostLog = hostOnly + '.log';
    fs.writeFileSync(hostOnly, `#!/bin/sh\necho host-script-ran >> ${hostLog}\n`, { mode: 0o755 });
    const spec = testSpec(['true']);
    spec.hooks = {
      createContainer: [{ path: hostOnly }],
      startContainer: [{ path: '/bin/in-rootfs-only', args: ['in-rootfs-only', 'arg1'], env: ['HOOKVAR=v1'] }],
    };
    const bundle = makeBundle(spec);
    fs.writeFileSync(path.join(bundle, 'rootfs/bin/in-rootfs-only'), '#!/bin/sh\necho "rootfs-script-ran $0 $1 $HOOKVAR" >> /tmp/hook.log\n', { mode: 0o755 });
    try {
      const r = tsoci(['run', '--bundle', bundle, uniqueId('paths')]);
      expect(r).toMatchObject({ status: 0, stderr: '' });
      expect(fs.readFileSync(hostLog, 'utf8')).toBe('host-script-ran\n');
      // (for a #! script the kernel passes the script's path as $0)
      expect(fs.readFileSync(path.join(bundle, 'rootfs/tmp/hook.log'), 'utf8')).toBe('rootfs-script-ran /bin/in-rootfs-only arg1 v1\n');
    } finally {
      removeBundle(bundle);
    }
  });

  test("like runc's, a hook's stdout and stderr are collected, not shown; args, env and argv0 are the hook's", () => {
    const log = path.join(work, uniqueId('stdio') + '.log');
    const spec = testSpec(['true']);
    const hook = (s: string) => ({ path: '/bin/sh', args: ['myname', '-c', `echo ${s}-out; echo ${s}-err >&2; echo "${s} $0 $X" >> ${log}`], env: [`X=${s}`] });
    spec.hooks = { prestart: [hook('prestart')], createContainer: [hook('cc')], poststart: [hook('poststart')], poststop: [hook('poststop')] };
    const bundle = makeBundle(spec);
    try {
      const r = tsoci(['run', '--bundle', bundle, uniqueId('stdio')]);
      expect(r).toMatchObject({ status: 0, stdout: '', stderr: '' });
      expect(fs.readFileSync(log, 'utf8')).toBe('prestart myname prestart\ncc myname cc\npoststart myname poststart\npoststop myname poststop\n');
    } finally {
      removeBundle(bundle);
    }
  });
});

describe('failing hooks: the operation fails, the container is destroyed, poststop runs, nothing is left', () => {
  const failing = { path: '/bin/sh', args: ['sh', '-c', 'cat >/dev/null; exit 3'] };

  test.each(['prestart', 'createRuntime', 'createContainer'])('a failing %s hook fails create', (kind) => {
    const log = path.join(work, uniqueId(kind) + '.log');
    const spec = testSpec(['sh', '-c', 'echo should-not-run; sleep 600']);
    spec.hooks = { [kind]: [failing, logHook('after-failure', log)], poststop: [logHook('poststop', log)] };
    const bundle = makeBundle(spec);
    const id = uniqueId('fail');
    const before = snapshot(TEST_ROOT);
    try {
      const r = tsoci(['create', '--bundle', bundle, id]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`error running ${kind} hook #0: exit status 3, stdout: , stderr: `);
      expect(r.stdout).not.toContain('should-not-run');
      // the next hook of the kind did not run; poststop did, with status stopped
      expect(readLog(log).map((e) => e.stage)).toEqual(['poststop']);
      expect(readLog(log)[0].state.status).toBe('stopped');
      expect(tsoci(['state', id]).stderr).toContain(`container "${id}" does not exist`);
      expect(leftovers(before, id, bundle)).toEqual([]);
    } finally {
      removeBundle(bundle);
    }
  });

  test('a missing createContainer executable fails create with ENOENT', () => {
    const spec = testSpec(['true']);
    spec.hooks = { createContainer: [{ path: '/nonexistent/hook' }] };
    const bundle = makeBundle(spec);
    const id = uniqueId('nohook');
    const before = snapshot(TEST_ROOT);
    try {
      const r = tsoci(['create', '--bundle', bundle, id]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('error running createContainer hook #0: fork/exec /nonexistent/hook: no such file or directory');
      expect(leftovers(before, id, bundle)).toEqual([]);
    } finally {
      removeBundle(bundle);
    }
  });

  test('a failing startContainer hook fails start; the process never runs; the container is destroyed', () => {
    const log = path.join(work, uniqueId('sc') + '.log');
    const spec = testSpec(['sh', '-c', 'touch /tmp/ran; sleep 600']);
    spec.hooks = { startContainer: [{ path: '/bin/false' }], poststop: [logHook('poststop', log)] };
    const bundle = makeBundle(spec);
    const id = uniqueId('failsc');
    const before = snapshot(TEST_ROOT);
    try {
      expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
      const r = tsoci(['start', id]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('error running startContainer hook #0: exit status 1');
      expect(fs.existsSync(path.join(bundle, 'rootfs/tmp/ran'))).toBe(false);
      expect(readLog(log).map((e) => e.stage)).toEqual(['poststop']);
      expect(tsoci(['state', id]).stderr).toContain('does not exist');
      expect(leftovers(before, id, bundle)).toEqual([]);
    } finally {
      removeBundle(bundle);
    }
  });

  test('a failing poststart hook fails start after the process started; it is stopped and destroyed', () => {
    const log = path.join(work, uniqueId('ps') + '.log');
    const spec = testSpec(['sh', '-c', 'touch /tmp/ran; sleep 600']);
    spec.hooks = { poststart: [{ path: '/bin/sh', args: ['sh', '-c', `while [ ! -e ${'ROOTFS'}/tmp/ran ]; do sleep 0.02; done; exit 4`] }], poststop: [logHook('poststop', log)] };
    const bundle = makeBundle(spec);
    spec.hooks.poststart[0].args[2] = spec.hooks.poststart[0].args[2].replace('ROOTFS', path.join(bundle, 'rootfs'));
    fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
    const id = uniqueId('failps');
    const before = snapshot(TEST_ROOT);
    try {
      expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
      const pid = stateOf(id).pid;
      const r = tsoci(['start', id]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('error running poststart hook #0: exit status 4');
      expect(fs.existsSync(path.join(bundle, 'rootfs/tmp/ran'))).toBe(true); // the process had started
      expect(aliveNotZombie(pid)).toBe(false);
      expect(readLog(log).map((e) => e.stage)).toEqual(['poststop']);
      expect(tsoci(['state', id]).stderr).toContain('does not exist');
      expect(leftovers(before, id, bundle)).toEqual([]);
    } finally {
      removeBundle(bundle);
    }
  });

  test('a failing poststart hook fails run the same way', () => {
    const spec = testSpec(['sleep', '600']);
    spec.hooks = { poststart: [{ path: '/bin/false' }] };
    const bundle = makeBundle(spec);
    const id = uniqueId('failrun');
    const before = snapshot(TEST_ROOT);
    try {
      const r = tsoci(['run', '--bundle', bundle, id]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('error running poststart hook #0: exit status 1');
      expect(leftovers(before, id, bundle)).toEqual([]);
    } finally {
      removeBundle(bundle);
    }
  });

  test('a failing poststop hook is a warning: delete succeeds, the later poststop hooks run', () => {
    const log = path.join(work, uniqueId('pstop') + '.log');
    const spec = testSpec(['true']);
    spec.hooks = { poststop: [{ path: '/bin/false' }, logHook('poststop2', log)] };
    const bundle = makeBundle(spec);
    const id = uniqueId('failpstop');
    try {
      expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
      const r = tsoci(['delete', id]);
      expect(r.status).toBe(0);
      expect(r.stderr).toContain('warning');
      expect(r.stderr).toContain('error running poststop hook #0: exit status 1');
      expect(readLog(log).map((e) => e.stage)).toEqual(['poststop2']);
      expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
    } finally {
      removeBundle(bundle);
    }
  });
});

describe('hook timeouts: a hook outliving its timeout is killed and counts as failed', () => {
  test.each(['createRuntime', 'createContainer'])('%s hook with timeout 1', (kind) => {
    const hang = hangingCommand(work);
    const spec = testSpec(['true']);
    spec.hooks = { [kind]: [{ path: hang.path, args: [hang.name, '30'], timeout: 1 }] };
    const bundle = makeBundle(spec);
    const id = uniqueId('timeout');
    const before = snapshot(TEST_ROOT);
    try {
      const t0 = Date.now();
      const r = tsoci(['create', '--bundle', bundle, id]);
      const took = Date.now() - t0;
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`error running ${kind} hook #0: hook ran past specified timeout of 1.0s`);
      expect(took).toBeGreaterThanOrEqual(1000);
      expect(took).toBeLessThan(10000);
      waitFor(() => processesNamed(hang.name).length === 0);
      expect(leftovers(before, id, bundle)).toEqual([]);
    } finally {
      removeBundle(bundle);
    }
  });

  test('startContainer hook with timeout 1: start fails after ~1s, the container is destroyed', () => {
    const spec = testSpec(['true']);
    spec.hooks = { startContainer: [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }] };
    const bundle = makeBundle(spec);
    const id = uniqueId('sctimeout');
    const before = snapshot(TEST_ROOT);
    try {
      expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
      const t0 = Date.now();
      const r = tsoci(['start', id]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('error running startContainer hook #0: hook ran past specified timeout of 1.0s');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
      expect(leftovers(before, id, bundle)).toEqual([]);
    } finally {
      removeBundle(bundle);
    }
  });

  test('a hook that finishes within its timeout succeeds', () => {
    const spec = testSpec(['true']);
    spec.hooks = { createContainer: [{ path: '/bin/sleep', args: ['sleep', '0.2'], timeout: 5 }], prestart: [{ path: '/bin/sleep', args: ['sleep', '0.2'], timeout: 5 }] };
    const bundle = makeBundle(spec);
    try {
      expect(tsoci(['run', '--bundle', bundle, uniqueId('intime')])).toMatchObject({ status: 0, stderr: '' });
    } finally {
      removeBundle(bundle);
    }
  });
});
