import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, stateOf, tsoci, TSOCI, TEST_ROOT, uniqueId } from '../helpers/tsoci';
import { settledDiff, snapshot } from '../helpers/leaks';

// process.scheduler / ioPriority / execCPUAffinity, linux.personality and the LSM fields,
// observed from inside real containers.

const EXTRA_APPLETS = ['ionice', 'cut'];
const ONLINE_CPUS = fs.readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
const SMP = os.cpus().length >= 2;

function bundleWith(args: string[], edit: (s: Record<string, any>) => void = () => undefined): string {
  const spec = testSpec(args);
  edit(spec);
  const b = makeBundle(spec);
  for (const a of EXTRA_APPLETS) {
    const p = path.join(b, 'rootfs', 'bin', a);
    if (!fs.existsSync(p)) fs.symlinkSync('busybox', p);
  }
  return b;
}

function runIn(args: string[], edit: (s: Record<string, any>) => void, runArgs: string[] = []) {
  const b = bundleWith(args, edit);
  try {
    return tsoci(['run', ...runArgs, '--bundle', b, uniqueId('px')]);
  } finally {
    removeBundle(b);
  }
}

/** A failure of `create`: exit 1, the message, nothing of the container left. */
function expectCleanCreateFailure(edit: (s: Record<string, any>) => void, message: string | RegExp): void {
  const b = bundleWith(['true'], edit);
  const id = uniqueId('pxfail');
  try {
    const before = snapshot(TEST_ROOT);
    const r = tsoci(['create', '--bundle', b, id]);
    expect(r.status).toBe(1);
    if (typeof message === 'string') expect(r.stderr).toContain(message);
    else expect(r.stderr).toMatch(message);
    expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
    expect(settledDiff(before, TEST_ROOT, { mentioning: [id, b] })).toEqual([]);
  } finally {
    removeBundle(b);
  }
}

// field 19 of /proc/self/stat is nice, field 41 the policy (comm "cut" has no spaces)
const STAT_NICE_POLICY = 'cut -d" " -f19,41 /proc/self/stat';

describe('scheduler, I/O priority, personality (create)', () => {
  afterEach(() => deleteAll());

  test('SCHED_BATCH with nice 5: policy 3 and nice 5 inside', () => {
    const r = runIn(['sh', '-c', STAT_NICE_POLICY], (s) => (s.process.scheduler = { policy: 'SCHED_BATCH', nice: 5 }));
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('5 3\n');
  });

  test('SCHED_IDLE: policy 5', () => {
    const r = runIn(['sh', '-c', STAT_NICE_POLICY], (s) => (s.process.scheduler = { policy: 'SCHED_IDLE' }));
    expect(r.stdout).toBe('0 5\n');
  });

  test('SCHED_FLAG_RESET_ON_FORK: the shell has nice -5, a forked child is back to 0 (sched(7); busybox runs cut itself, cat in a pipe forks)', () => {
    const r = runIn(['sh', '-c', 'cut -d" " -f19 /proc/$$/stat; cat /proc/self/stat | cut -d" " -f19'],
      (s) => (s.process.scheduler = { policy: 'SCHED_OTHER', nice: -5, flags: ['SCHED_FLAG_RESET_ON_FORK'] }));
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('-5\n0\n');
  });

  test('no scheduler: the default policy', () => {
    expect(runIn(['sh', '-c', STAT_NICE_POLICY], () => undefined).stdout).toBe('0 0\n');
  });

  test('a scheduler the kernel refuses: a clear error, nothing left', () => {
    // runtime > deadline is invalid for SCHED_DEADLINE
    expectCleanCreateFailure((s) => (s.process.scheduler = { policy: 'SCHED_DEADLINE', runtime: 20_000_000, deadline: 10_000_000, period: 30_000_000 }),
      /error setting scheduler \(policy 6\): invalid argument \(EINVAL\)/);
  });

  test('SCHED_DEADLINE with cpu.cpus set: the kernel says EPERM, reported in runc\'s words (scheduler.bats "scheduler vs cpus")', () => {
    expectCleanCreateFailure((s) => {
      s.linux.resources = { ...(s.linux.resources ?? {}), cpu: { cpus: '0' } };
      s.process.scheduler = { policy: 'SCHED_DEADLINE', nice: 19, runtime: 42000, deadline: 1000000, period: 1000000 };
    }, "process scheduler can't be used together with AllowedCPUs");
  });

  test('an unknown policy name is refused before anything is created', () => {
    expectCleanCreateFailure((s) => (s.process.scheduler = { policy: 'SCHED_NOPE' }), /scheduler\/policy|unknown scheduler policy/);
  });

  test('ioPriority: IOPRIO_CLASS_BE 6 and IOPRIO_CLASS_IDLE are what ionice reports inside', () => {
    expect(runIn(['ionice'], (s) => (s.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 6 })).stdout).toBe('best-effort: prio 6\n');
    expect(runIn(['ionice'], (s) => (s.process.ioPriority = { class: 'IOPRIO_CLASS_IDLE', priority: 0 })).stdout).toBe('idle\n');
    expect(runIn(['ionice'], () => undefined).stdout).toBe('none: prio 0\n');
  });

  test('personality LINUX32: uname -m says i686; LINUX: x86_64', () => {
    expect(runIn(['uname', '-m'], (s) => (s.linux.personality = { domain: 'LINUX32' })).stdout).toBe('i686\n');
    expect(runIn(['uname', '-m'], (s) => (s.linux.personality = { domain: 'LINUX' })).stdout).toBe(`${os.machine()}\n`);
  });

  test('an unknown personality domain is refused', () => {
    expectCleanCreateFailure((s) => (s.linux.personality = { domain: 'LINUX64' }), /personality/);
  });

  (SMP ? test : test.skip)('the container does not inherit the runtime\'s CPU affinity (reset like runc)', () => {
    const b = bundleWith(['grep', 'Cpus_allowed_list', '/proc/self/status']);
    try {
      const r = spawnSync('taskset', ['-c', '0', TSOCI, '--root', TEST_ROOT, 'run', '--bundle', b, uniqueId('pxaff')], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(`Cpus_allowed_list:\t${ONLINE_CPUS}\n`);
    } finally {
      removeBundle(b);
    }
  });

  test('execCPUAffinity in config.json does not apply to the container init', () => {
    const r = runIn(['grep', 'Cpus_allowed_list', '/proc/self/status'], (s) => (s.process.execCPUAffinity = { final: '0' }));
    expect(r.stdout).toBe(`Cpus_allowed_list:\t${ONLINE_CPUS}\n`);
  });
});

describe('exec: execCPUAffinity, scheduling, errors of the executable', () => {
  let bundle: string;
  let id: string;
  beforeAll(() => {
    bundle = bundleWith(['sleep', '600'], (s) => (s.process.execCPUAffinity = { initial: '0', final: SMP ? '1' : '0' }));
    fs.writeFileSync(path.join(bundle, 'rootfs', 'etc', 'not-executable'), '#!/bin/sh\necho no\n', { mode: 0o644 });
    id = uniqueId('pxexec');
    expect(tsoci(['run', '-d', '--bundle', bundle, id]).status).toBe(0);
  });
  afterAll(() => {
    tsoci(['delete', '--force', id]);
    removeBundle(bundle);
  });

  function processFile(p: object): string {
    const f = path.join(bundle, `proc-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(f, JSON.stringify({ cwd: '/', env: ['PATH=/bin'], ...p }));
    return f;
  }
  const CPUS = ['grep', 'Cpus_allowed_list', '/proc/self/status'];

  (SMP ? test : test.skip)('--process with final: the process runs on the final CPUs', () => {
    const r = tsoci(['exec', '--process', processFile({ args: CPUS, execCPUAffinity: { initial: '1', final: '0' } }), id]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('Cpus_allowed_list:\t0\n');
  });

  (SMP ? test : test.skip)('--process with only initial: the process keeps the initial CPUs', () => {
    const r = tsoci(['exec', '--process', processFile({ args: CPUS, execCPUAffinity: { initial: '1' } }), id]);
    expect(r.stdout).toBe('Cpus_allowed_list:\t1\n');
  });

  // runc's cpu_affinity.bats reads nsexec's debug line: the init's CPU mask once the initial set applies
  test('--debug: tsoci-init logs its initial affinity as runc\'s nsexec does (stderr, or the --log file)', () => {
    const file = processFile({ args: ['true'], execCPUAffinity: { initial: '0' } });
    const r = tsoci(['--debug', 'exec', '--process', file, id]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^time="[^"]+" level=debug msg="nsexec\[\d+\]: affinity: 0x1"$/m);
    const log = path.join(bundle, `debug-${Math.random().toString(36).slice(2)}.log`);
    const j = tsoci(['--debug', '--log', log, '--log-format', 'json', 'exec', '--process', file, id]);
    expect(j.status).toBe(0);
    expect(j.stderr).not.toContain('affinity');
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toContainEqual({ level: 'debug', msg: expect.stringMatching(/^nsexec\[\d+\]: affinity: 0x1$/), time: expect.any(String) });
    // without --debug: no such line
    expect(tsoci(['exec', '--process', file, id]).stderr).toBe('');
  });

  (SMP ? test : test.skip)('exec with argv takes execCPUAffinity from config.json (final 1)', () => {
    expect(tsoci(['exec', id, ...CPUS]).stdout).toBe('Cpus_allowed_list:\t1\n');
  });

  (SMP ? test : test.skip)('no execCPUAffinity: reset to every CPU even when tsoci runs on one', () => {
    const r = spawnSync('taskset', ['-c', '0', TSOCI, '--root', TEST_ROOT, 'exec', '--process', processFile({ args: CPUS }), id], { encoding: 'utf8' });
    expect(r.stdout).toBe(`Cpus_allowed_list:\t${ONLINE_CPUS}\n`);
  });

  test.each([
    ['initial', { initial: '4095' }, 'set initial CPU affinity "4095": invalid argument (EINVAL)'],
    ['final', { final: '4095' }, 'set final CPU affinity "4095": invalid argument (EINVAL)'],
    ['malformed', { final: '1-x' }, 'process.execCPUAffinity.final: invalid CPU list "1-x"'],
  ])('a CPU list that cannot be applied (%s): clear error, nothing left, the container still runs', (_w, aff, message) => {
    const before = snapshot(TEST_ROOT);
    const r = tsoci(['exec', '--process', processFile({ args: ['true'], execCPUAffinity: aff }), id]);
    expect(r.status).toBe(255);
    expect(r.stderr).toContain(message);
    expect(settledDiff(before, TEST_ROOT, { mentioning: [id] })).toEqual([]);
    expect(stateOf(id).status).toBe('running');
  });

  test('scheduler and ioPriority from --process', () => {
    const r = tsoci(['exec', '--process', processFile({ args: ['sh', '-c', `${STAT_NICE_POLICY}; ionice`], scheduler: { policy: 'SCHED_BATCH', nice: 7 }, ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 2 } }), id]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('7 3\nbest-effort: prio 2\n');
  });

  // runc's ioprio.bats: a process.json ioPriority with only a class (priority: Go's zero value)
  test('ioPriority with a class and no priority (priority 0, as runc)', () => {
    const r = tsoci(['exec', '--process', processFile({ args: ['ionice'], ioPriority: { class: 'IOPRIO_CLASS_IDLE' } }), id]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('idle\n');
  });

  test('a missing command: "executable file not found in $PATH" (podman: 127), nothing left', () => {
    const before = snapshot(TEST_ROOT);
    const r = tsoci(['exec', id, 'no-such-command']);
    expect(r.status).toBe(255);
    expect(r.stderr).toContain('exec: "no-such-command": executable file not found in $PATH');
    const abs = tsoci(['exec', id, '/bin/no-such-command']);
    expect(abs.stderr).toContain('no such file or directory');
    expect(settledDiff(before, TEST_ROOT, { mentioning: [id] })).toEqual([]);
  });

  test('a file that is not executable: "permission denied" (podman: 126), nothing left', () => {
    const before = snapshot(TEST_ROOT);
    const r = tsoci(['exec', id, '/etc/not-executable']);
    expect(r.status).toBe(255);
    expect(r.stderr).toContain('exec: "/etc/not-executable": permission denied');
    const dir = tsoci(['exec', id, '/etc']);
    expect(dir.stderr).toContain('permission denied');
    expect(settledDiff(before, TEST_ROOT, { mentioning: [id] })).toEqual([]);
    expect(stateOf(id).status).toBe('running');
  });
});

describe('LSM on a host without AppArmor and SELinux', () => {
  const hasAppArmor = fs.existsSync('/sys/kernel/security/apparmor');
  const hasSELinux = fs.existsSync('/sys/fs/selinux/enforce');
  afterEach(() => deleteAll());

  (hasAppArmor ? test.skip : test)('an AppArmor profile fails create with a clear error, nothing left', () => {
    expectCleanCreateFailure((s) => (s.process.apparmorProfile = 'tsoci-test'),
      'process.apparmorProfile: apparmor profile "tsoci-test" specified but AppArmor is not enabled on this system');
  });

  (hasSELinux ? test.skip : test)('a SELinux label fails create with runc\'s message, nothing left', () => {
    expectCleanCreateFailure((s) => (s.process.selinuxLabel = 'system_u:system_r:container_t:s0'),
      'selinux label is specified in config, but selinux is disabled or not supported');
  });

  (hasSELinux ? test.skip : test)('linux.mountLabel is ignored without SELinux (like runc)', () => {
    const r = runIn(['sh', '-c', 'echo ok'], (s) => (s.linux.mountLabel = 'system_u:object_r:container_file_t:s0'));
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('ok\n');
  });

  (hasAppArmor ? test.skip : test)('exec --apparmor fails the same way; the container keeps running', () => {
    const b = bundleWith(['sleep', '600']);
    const id = uniqueId('pxaa');
    try {
      expect(tsoci(['run', '-d', '--bundle', b, id]).status).toBe(0);
      const before = snapshot(TEST_ROOT);
      const r = tsoci(['exec', '--apparmor', 'tsoci-test', id, 'true']);
      expect(r.status).toBe(255);
      expect(r.stderr).toContain('AppArmor is not enabled on this system');
      expect(settledDiff(before, TEST_ROOT, { mentioning: [id] })).toEqual([]);
      expect(stateOf(id).status).toBe('running');
    } finally {
      tsoci(['delete', '--force', id]);
      removeBundle(b);
    }
  });

  test('no profile and no label: nothing is written, the process runs', () => {
    const r = runIn(['true'], (s) => {
      s.process.apparmorProfile = '';
      s.process.selinuxLabel = '';
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
