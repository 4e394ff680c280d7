import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, stateOf, tsoci, uniqueId, TEST_ROOT, TSOCI } from '../helpers/tsoci';
import { settledDiff, snapshot } from '../helpers/leaks';
import { RUNTIME_FAULT_STEPS } from '../../src/util/fault';

// TSOCI_FAULT=<step> (src/util/fault.ts, cpp/init/fault.cc): create fails at every step
// with a message naming it, exit status 1, and leaves nothing behind. TSOCI_FAULT=sleep:<step>
// stops tsoci there so it can be SIGKILLed mid-operation; `delete --force` then recovers.

/** testSpec plus a prestart hook, so the runtime's hooks pause is a step too. */
function mainSpec(): Record<string, any> {
  const s = testSpec(['sleep', '600']);
  s.hooks = { prestart: [{ path: '/bin/true' }] };
  return s;
}

/** A user namespace (id maps) and a namespace joined by path (the test process's UTS). */
function userNsSpec(): Record<string, any> {
  const s = testSpec(['sleep', '600']);
  delete s.hostname;
  s.linux.namespaces = [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'mount' }, { type: 'cgroup' },
    { type: 'user' }, { type: 'uts', path: `/proc/${process.pid}/ns/uts` }];
  s.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  s.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  return s;
}

const CREATE_STEPS = RUNTIME_FAULT_STEPS.filter((s) => s.startsWith('create:'));
const MOUNT_STEPS = testSpec(['x']).mounts.map((m: { destination: string }) => `mount:${m.destination}`);
const INIT_STEPS = ['unshare', 'namespaces', ...MOUNT_STEPS, 'devices', 'pre-pivot', 'post-pivot', 'readonly-paths',
  'masked-paths', 'process', 'ready'];
const USERNS_STEPS = ['join:uts', 'unshare:user', 'idmap', 'unshare', 'namespaces', 'mount:/proc'];

function env(fault: string): NodeJS.ProcessEnv {
  return { ...process.env, TSOCI_FAULT: fault };
}

let bundle: string;
let usernsBundle: string;
beforeAll(() => {
  bundle = makeBundle(mainSpec());
  usernsBundle = makeBundle(userNsSpec());
  fs.chmodSync(usernsBundle, 0o755); // the mapped root must reach its rootfs
});
afterEach(() => deleteAll());
afterAll(() => {
  removeBundle(bundle);
  removeBundle(usernsBundle);
});

describe('TSOCI_FAULT=<step>: create fails there, names the step, leaves nothing', () => {
  const walked: string[] = [];
  afterAll(() => {
    // every fault point reached (a step whose name never matched would have passed create)
    expect(walked.length).toBe(CREATE_STEPS.length + INIT_STEPS.length + USERNS_STEPS.length);
  });

  const cases: [string, 'main' | 'userns'][] = [
    ...CREATE_STEPS.map((s) => [s, 'main'] as [string, 'main']),
    ...INIT_STEPS.map((s) => [s, 'main'] as [string, 'main']),
    ...USERNS_STEPS.map((s) => [s, 'userns'] as [string, 'userns']),
  ];
  test.each(cases)('%s (%s spec)', (step, which) => {
    const id = uniqueId('fault');
    const pidFile = path.join(os.tmpdir(), `tsoci-fault-${id}.pid`);
    const before = snapshot(TEST_ROOT);
    const r = tsoci(['create', '--bundle', which === 'main' ? bundle : usernsBundle, '--pid-file', pidFile, id], { env: env(step) });
    expect(r.stderr).toContain(`fault injected at ${step}`);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.status).toBe(1);
    expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
    expect(fs.existsSync(pidFile)).toBe(false);
    expect(settledDiff(before, TEST_ROOT, { mentioning: [id, bundle, usernsBundle] })).toEqual([]);
    walked.push(step);
  });

  test('an unknown step is inert: create succeeds', () => {
    const id = uniqueId('nofault');
    const r = tsoci(['create', '--bundle', bundle, id], { env: env('no-such-step') });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(stateOf(id).status).toBe('created');
  });

  test.each(['destroy:killed', 'destroy:cgroups'])('delete failing at %s leaves a container that delete --force removes', (step) => {
    const before = snapshot(TEST_ROOT);
    const id = uniqueId('dfault');
    expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
    const r = tsoci(['delete', '--force', id], { env: env(step) });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`fault injected at ${step}`);
    expect(stateOf(id).status).toBe('stopped');
    expect(tsoci(['delete', id]).status).toBe(0);
    expect(settledDiff(before, TEST_ROOT, { mentioning: [id, bundle, usernsBundle] })).toEqual([]);
  });
});

/** Starts tsoci with TSOCI_FAULT=sleep:<step>, waits until it sleeps there, SIGKILLs it. */
async function killAt(step: string, args: string[]): Promise<string> {
  const child = spawn(TSOCI, ['--root', TEST_ROOT, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: env(`sleep:${step}`) });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const end = Date.now() + 15000;
  while (!err.includes(`fault: sleeping at ${step}`)) {
    if (Date.now() > end || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`tsoci never reached ${step}: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  child.kill('SIGKILL');
  await exited;
  // the init may still hold the pipe (it inherited stderr): stop listening
  child.stderr.destroy();
  return err;
}

describe('SIGKILL of tsoci mid-operation: delete --force recovers fully', () => {
  const steps: [string, 'main' | 'userns'][] = [
    ...CREATE_STEPS.map((s) => [s, 'main'] as [string, 'main']),
    ['mount:/proc', 'main'], ['pre-pivot', 'main'], ['ready', 'main'], ['idmap', 'userns'], ['unshare:user', 'userns'],
  ];
  test.each(steps)('create killed at %s (%s spec)', async (step, which) => {
    const before = snapshot(TEST_ROOT);
    const id = uniqueId('kill');
    await killAt(step, ['create', '--bundle', which === 'main' ? bundle : usernsBundle, id]);
    // while the leftovers exist, state reports something sensible (or nothing)
    const st = tsoci(['state', id]);
    if (st.status === 0) expect(['creating', 'created', 'stopped']).toContain(JSON.parse(st.stdout).status);
    const r = tsoci(['delete', '--force', id]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
    expect(settledDiff(before, TEST_ROOT, { mentioning: [id, bundle, usernsBundle] })).toEqual([]);
  });

  test.each(['destroy:killed', 'destroy:cgroups'])('delete killed at %s', async (step) => {
    const before = snapshot(TEST_ROOT);
    const id = uniqueId('kdel');
    expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
    expect(tsoci(['start', id]).status).toBe(0);
    await killAt(step, ['delete', '--force', id]);
    const r = tsoci(['delete', '--force', id]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(settledDiff(before, TEST_ROOT, { mentioning: [id, bundle, usernsBundle] })).toEqual([]);
  });

  test('the init killed between create and start: state says stopped, start fails, delete cleans up', () => {
    const before = snapshot(TEST_ROOT);
    const id = uniqueId('dead');
    expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
    process.kill(stateOf(id).pid, 'SIGKILL');
    const end = Date.now() + 5000;
    while (stateOf(id).status !== 'stopped' && Date.now() < end) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    expect(stateOf(id).status).toBe('stopped');
    expect(tsoci(['start', id]).stderr).toContain('stopped');
    expect(tsoci(['delete', id]).status).toBe(0);
    expect(settledDiff(before, TEST_ROOT, { mentioning: [id, bundle, usernsBundle] })).toEqual([]);
  });
});
