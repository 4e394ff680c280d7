import type { Process, Spec } from '../../src/spec/types';
import type { PlanOptions } from '../../src/plan/options';
import { planLaunch } from '../../src/plan/plan';
import {
  IOPRIO_CLASSES, PERSONALITY_DOMAINS, SCHED_FLAGS, SCHED_POLICIES, parseCpuList, planCpuAffinity, planIoPriority,
  planPersonality, planScheduler,
} from '../../src/plan/sched';
import { applyMountLabel, planProcessLsm } from '../../src/plan/lsm';
import type { PlannedMount, PlannedProcess } from '../../src/plan/launch-plan';
import { TsociError } from '../../src/util/errors';

function spec(process: Partial<Process> = {}, linux: Spec['linux'] = {}): Spec {
  return {
    ociVersion: '1.3.0',
    process: { args: ['sh'], cwd: '/', user: { uid: 0, gid: 0 }, ...process } as Process,
    root: { path: 'rootfs' },
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['mode=755'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['newinstance'] },
      { destination: '/etc/hosts', type: 'bind', source: '/etc/hosts', options: ['rbind', 'ro'] },
    ],
    linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }], ...linux },
  };
}

const CREATE: PlanOptions = { bundle: '/b', mode: 'create', wait: 'foreground', preserveFds: 0, noPivot: false };
const EXEC: PlanOptions = { ...CREATE, mode: 'exec', execTargetPid: 42 };

function expectError(fn: () => unknown, message: string | RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(TsociError);
  if (typeof message === 'string') expect((caught as Error).message).toContain(message);
  else expect((caught as Error).message).toMatch(message);
}

describe('scheduler', () => {
  test('every policy and flag name maps to the kernel number', () => {
    expect(SCHED_POLICIES).toEqual({ SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_ISO: 4, SCHED_IDLE: 5, SCHED_DEADLINE: 6 });
    expect(Object.values(SCHED_FLAGS)).toEqual([0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40]);
  });

  test('a full scheduler is resolved to numbers', () => {
    expect(planScheduler({ policy: 'SCHED_FIFO', priority: 10, flags: ['SCHED_FLAG_RESET_ON_FORK', 'SCHED_FLAG_KEEP_PARAMS'] }, 'process.scheduler'))
      .toEqual({ policy: 1, nice: 0, priority: 10, flags: 0x11, runtime: 0, deadline: 0, period: 0 });
    expect(planScheduler({ policy: 'SCHED_BATCH', nice: 5 }, 'p')).toEqual({ policy: 3, nice: 5, priority: 0, flags: 0, runtime: 0, deadline: 0, period: 0 });
    expect(planScheduler({ policy: 'SCHED_DEADLINE', runtime: 10_000_000, deadline: 20_000_000, period: 30_000_000 }, 'p'))
      .toMatchObject({ policy: 6, runtime: 10_000_000, deadline: 20_000_000, period: 30_000_000 });
  });

  test.each([
    [{ policy: 'SCHED_FOO' }, 'process.scheduler.policy: unknown scheduler policy "SCHED_FOO"'],
    [{ policy: '' }, 'scheduler policy is required'],
    [{ policy: 'SCHED_OTHER', flags: ['SCHED_FLAG_NOPE'] }, 'process.scheduler.flags[0]: unknown scheduler flag "SCHED_FLAG_NOPE"'],
    [{ policy: 'SCHED_OTHER', nice: 20 }, 'process.scheduler.nice: must be an integer between -20 and 19'],
    [{ policy: 'SCHED_BATCH', priority: 3 }, 'can only be specified for SCHED_FIFO or SCHED_RR'],
    [{ policy: 'SCHED_RR', runtime: 5 }, 'runtime/deadline/period can only be specified for SCHED_DEADLINE'],
  ])('%j is refused with a clear error', (s, message) => {
    expectError(() => planScheduler(s as never, 'process.scheduler'), message);
  });
});

describe('ioPriority', () => {
  test('classes map to IOPRIO_CLASS_* numbers', () => {
    expect(IOPRIO_CLASSES).toEqual({ IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 });
    expect(planIoPriority({ class: 'IOPRIO_CLASS_BE', priority: 6 }, 'p')).toEqual({ class: 2, priority: 6 });
    // no priority: 0, as runc (its ioprio.bats sends only a class)
    expect(planIoPriority({ class: 'IOPRIO_CLASS_IDLE' } as never, 'p')).toEqual({ class: 3, priority: 0 });
  });
  test('unknown class and out-of-range priority are refused', () => {
    expectError(() => planIoPriority({ class: 'IOPRIO_CLASS_NONE' as never, priority: 0 }, 'process.ioPriority'),
      'process.ioPriority.class: unknown I/O priority class "IOPRIO_CLASS_NONE"');
    expectError(() => planIoPriority({ class: 'IOPRIO_CLASS_RT', priority: 8 }, 'process.ioPriority'), 'process.ioPriority.priority: must be an integer between 0 and 7');
  });
});

describe('CPU lists and execCPUAffinity', () => {
  test.each([
    ['0', [0]],
    ['0-3,7', [0, 1, 2, 3, 7]],
    [' 1 , 3-4 ,', [1, 3, 4]],
    ['2,,5', [2, 5]],
  ])('%j parses', (list, cpus) => {
    expect(parseCpuList(list, 'f')).toEqual(cpus);
  });
  test.each([
    ['', 'no members found'],
    [',', 'no members found'],
    ['a', 'bad element "a"'],
    ['3-1', 'invalid range "3-1"'],
    ['1-', 'bad element "1-"'],
    ['-1', 'bad element "-1"'],
    ['70000', 'values larger than 65536'],
  ])('%j is refused: %s', (list, message) => {
    expectError(() => parseCpuList(list, 'process.execCPUAffinity.final'), `process.execCPUAffinity.final: invalid CPU list ${JSON.stringify(list)}: ${message}`);
  });
  test('empty lists mean unset', () => {
    expect(planCpuAffinity({}, 'f')).toBeUndefined();
    expect(planCpuAffinity({ initial: '', final: '' }, 'f')).toBeUndefined();
    expect(planCpuAffinity({ final: '0-1' }, 'f')).toEqual({ final: '0-1' });
  });
  test('it applies to exec only (not to the container init, like runc), but is validated in both', () => {
    const s = spec({ execCPUAffinity: { initial: '1', final: '0' } });
    expect(planLaunch(s, CREATE).process.execCPUAffinity).toBeUndefined();
    expect(planLaunch(s, EXEC).process.execCPUAffinity).toEqual({ initial: '1', final: '0' });
    expectError(() => planLaunch(spec({ execCPUAffinity: { final: 'x' } }), CREATE), 'process.execCPUAffinity.final: invalid CPU list');
  });
});

describe('personality', () => {
  test('domains and flags', () => {
    expect(PERSONALITY_DOMAINS).toEqual({ LINUX: 0, LINUX32: 8 });
    expect(planPersonality({ domain: 'LINUX32' })).toBe(8);
    expect(planPersonality({ domain: 'LINUX', flags: ['ADDR_NO_RANDOMIZE'] })).toBe(0x0040000);
  });
  test('unknown names are refused', () => {
    expectError(() => planPersonality({ domain: 'LINUX64' as never }), 'linux.personality.domain: unknown personality domain "LINUX64"');
    expectError(() => planPersonality({ domain: 'LINUX', flags: ['NOPE'] }), 'linux.personality.flags[0]: unknown personality flag "NOPE"');
  });
  test('it reaches the plan in create and exec mode', () => {
    const s = spec({}, { personality: { domain: 'LINUX32' } });
    expect(planLaunch(s, CREATE).personality).toBe(8);
    expect(planLaunch(s, EXEC).personality).toBe(8);
    expect(planLaunch(spec(), CREATE).personality).toBeUndefined();
  });
});

describe('the process in the plan', () => {
  test('scheduler and ioPriority reach plan.process in both modes; unset means absent', () => {
    const s = spec({ scheduler: { policy: 'SCHED_IDLE' }, ioPriority: { class: 'IOPRIO_CLASS_IDLE', priority: 0 } });
    for (const o of [CREATE, EXEC]) {
      const p = planLaunch(s, o).process;
      expect(p.scheduler).toEqual({ policy: 5, nice: 0, priority: 0, flags: 0, runtime: 0, deadline: 0, period: 0 });
      expect(p.ioPriority).toEqual({ class: 3, priority: 0 });
    }
    const plain = planLaunch(spec(), CREATE).process;
    expect(plain.scheduler).toBeUndefined();
    expect(plain.ioPriority).toBeUndefined();
    expect(plain.apparmorProfile).toBeUndefined();
    expect(plain.selinuxLabel).toBeUndefined();
  });
  test('exec mode takes them from the exec process, not config.json', () => {
    const s = spec({ scheduler: { policy: 'SCHED_BATCH' } });
    const p = planLaunch(s, { ...EXEC, process: { args: ['true'], cwd: '/', ioPriority: { class: 'IOPRIO_CLASS_RT', priority: 1 } } as Process }).process;
    expect(p.scheduler).toBeUndefined();
    expect(p.ioPriority).toEqual({ class: 1, priority: 1 });
  });
});

describe('LSM', () => {
  const out = (): PlannedProcess => ({ args: ['x'], env: [], cwd: '/', uid: 0, gid: 0, additionalGids: [], umask: -1, terminal: false, noNewPrivileges: false, rlimits: [] });

  test('no profile or label: nothing to do whatever the host', () => {
    const o = out();
    planProcessLsm({ args: ['x'], cwd: '/' } as Process, o, {});
    expect(o).toEqual(out());
  });
  test('an AppArmor profile on a host without AppArmor fails create and exec', () => {
    const s = spec({ apparmorProfile: 'tsoci-default' });
    const msg = 'process.apparmorProfile: apparmor profile "tsoci-default" specified but AppArmor is not enabled on this system';
    expectError(() => planLaunch(s, CREATE), msg);
    expectError(() => planLaunch(s, { ...CREATE, hostHasAppArmor: false }), msg);
    expectError(() => planLaunch(spec(), { ...EXEC, process: { args: ['x'], cwd: '/', apparmorProfile: 'tsoci-default' } as Process }), msg);
  });
  test('with AppArmor the profile is passed on', () => {
    expect(planLaunch(spec({ apparmorProfile: 'p1' }), { ...CREATE, hostHasAppArmor: true }).process.apparmorProfile).toBe('p1');
  });
  test('a SELinux label without SELinux fails with runc\'s message; with SELinux it is passed on', () => {
    expectError(() => planLaunch(spec({ selinuxLabel: 'system_u:system_r:container_t:s0' }), CREATE),
      'selinux label is specified in config, but selinux is disabled or not supported');
    expect(planLaunch(spec({ selinuxLabel: 'system_u:system_r:container_t:s0' }), { ...CREATE, hostHasSELinux: true }).process.selinuxLabel)
      .toBe('system_u:system_r:container_t:s0');
  });
  test('labels with a newline are refused', () => {
    expectError(() => planLaunch(spec({ apparmorProfile: 'a\nb' }), { ...CREATE, hostHasAppArmor: true }), 'must not contain a null byte or a newline');
  });
  test('mountLabel: ignored without SELinux (like runc), context= on runtime-made mounts with it', () => {
    const label = 'system_u:object_r:container_file_t:s0:c1,c2';
    const without = planLaunch(spec({}, { mountLabel: label }), CREATE);
    expect(without.mounts.some((m) => m.data.includes('context='))).toBe(false);
    const withIt = planLaunch(spec({}, { mountLabel: label }), { ...CREATE, hostHasSELinux: true });
    const data = Object.fromEntries(withIt.mounts.map((m) => [m.destination, m.data]));
    expect(data['/dev']).toBe(`mode=755,context="${label}"`);
    expect(data['/dev/pts']).toContain(`context="${label}"`);
    expect(data['/proc']).not.toContain('context=');
    expect(data['/etc/hosts']).not.toContain('context=');
  });
  test('applyMountLabel on an empty data string', () => {
    const m: PlannedMount[] = [{ source: 'tmpfs', destination: '/x', type: 'tmpfs', flags: 0, data: '', remountFlags: 0, propagationFlags: [], createAs: 'dir' }];
    applyMountLabel(m, 'l', { hostHasSELinux: true });
    expect(m[0].data).toBe('context="l"');
  });
});
