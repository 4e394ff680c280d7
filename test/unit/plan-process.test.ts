import type { Process } from '../../src/spec/types';
import { planProcess } from '../../src/plan/process';
import {
  CAPABILITY_NAMES,
  CAP_LAST_CAP,
  capabilityName,
  capabilityNumber,
  resolveCapabilities,
  unknownCapabilities,
  unknownCapabilityWarning,
} from '../../src/plan/capabilities';
import { RLIMIT_NUMBERS, resolveRlimits, rlimitNumber } from '../../src/plan/rlimits';
import { TsociError } from '../../src/util/errors';

function proc(over: Partial<Process> = {}): Process {
  return { user: { uid: 0, gid: 0 }, args: ['/bin/sh'], cwd: '/', ...over };
}

describe('capabilities table', () => {
  const expected: [string, number][] = [
    ['CAP_CHOWN', 0],
    ['CAP_DAC_OVERRIDE', 1],
    ['CAP_DAC_READ_SEARCH', 2],
    ['CAP_FOWNER', 3],
    ['CAP_FSETID', 4],
    ['CAP_KILL', 5],
    ['CAP_SETGID', 6],
    ['CAP_SETUID', 7],
    ['CAP_SETPCAP', 8],
    ['CAP_LINUX_IMMUTABLE', 9],
    ['CAP_NET_BIND_SERVICE', 10],
    ['CAP_NET_BROADCAST', 11],
    ['CAP_NET_ADMIN', 12],
    ['CAP_NET_RAW', 13],
    ['CAP_IPC_LOCK', 14],
    ['CAP_IPC_OWNER', 15],
    ['CAP_SYS_MODULE', 16],
    ['CAP_SYS_RAWIO', 17],
    ['CAP_SYS_CHROOT', 18],
    ['CAP_SYS_PTRACE', 19],
    ['CAP_SYS_PACCT', 20],
    ['CAP_SYS_ADMIN', 21],
    ['CAP_SYS_BOOT', 22],
    ['CAP_SYS_NICE', 23],
    ['CAP_SYS_RESOURCE', 24],
    ['CAP_SYS_TIME', 25],
    ['CAP_SYS_TTY_CONFIG', 26],
    ['CAP_MKNOD', 27],
    ['CAP_LEASE', 28],
    ['CAP_AUDIT_WRITE', 29],
    ['CAP_AUDIT_CONTROL', 30],
    ['CAP_SETFCAP', 31],
    ['CAP_MAC_OVERRIDE', 32],
    ['CAP_MAC_ADMIN', 33],
    ['CAP_SYSLOG', 34],
    ['CAP_WAKE_ALARM', 35],
    ['CAP_BLOCK_SUSPEND', 36],
    ['CAP_AUDIT_READ', 37],
    ['CAP_PERFMON', 38],
    ['CAP_BPF', 39],
    ['CAP_CHECKPOINT_RESTORE', 40],
  ];

  test('41 capabilities, CAP_LAST_CAP = 40', () => {
    expect(CAPABILITY_NAMES).toHaveLength(41);
    expect(CAP_LAST_CAP).toBe(40);
  });

  test.each(expected)('%s = %d (both ways)', (name, n) => {
    expect(capabilityNumber(name)).toBe(n);
    expect(capabilityName(n)).toBe(name);
  });

  test('unknown names and numbers', () => {
    expect(capabilityNumber('CAP_FOO')).toBeUndefined();
    expect(capabilityNumber('cap_chown')).toBeUndefined();
    expect(capabilityNumber('CHOWN')).toBeUndefined();
    expect(capabilityNumber('toString')).toBeUndefined();
    expect(capabilityName(41)).toBeUndefined();
  });

  test('all 41 in every set resolve', () => {
    const all = [...CAPABILITY_NAMES];
    const r = resolveCapabilities({ bounding: all, effective: all, permitted: all, inheritable: all, ambient: all })!;
    const nums = Array.from({ length: 41 }, (_, i) => i);
    expect(r).toEqual({ bounding: nums, effective: nums, permitted: nums, inheritable: nums, ambient: nums });
  });
});

describe('capabilities in the process', () => {
  test('absent object → undefined (leave unchanged)', () => {
    expect(planProcess(proc()).capabilities).toBeUndefined();
    expect('capabilities' in planProcess(proc())).toBe(false);
  });

  test('present object with absent sets → empty sets', () => {
    expect(planProcess(proc({ capabilities: {} })).capabilities).toEqual({
      bounding: [],
      effective: [],
      inheritable: [],
      permitted: [],
      ambient: [],
    });
    expect(planProcess(proc({ capabilities: { bounding: ['CAP_KILL'] } })).capabilities).toEqual({
      bounding: [5],
      effective: [],
      inheritable: [],
      permitted: [],
      ambient: [],
    });
  });

  test('order kept, duplicates dropped', () => {
    const c = planProcess(proc({ capabilities: { effective: ['CAP_SYS_ADMIN', 'CAP_CHOWN', 'CAP_SYS_ADMIN'] } })).capabilities!;
    expect(c.effective).toEqual([21, 0]);
  });

  test('unknown name: left out with runc\'s warning (runtime-spec 1.3.0: log a warning, SHOULD NOT fail)', () => {
    const caps = { bounding: ['CAP_CHOWN', 'UNKNOWN_CAP'], permitted: ['CAP_KILL', 'CAP_FOO'], effective: ['CAP_FOO'] };
    expect(planProcess(proc({ capabilities: caps })).capabilities).toEqual({ bounding: [0], effective: [], inheritable: [], permitted: [5], ambient: [] });
    expect(unknownCapabilities(caps)).toEqual(['CAP_FOO', 'UNKNOWN_CAP']);
    expect(unknownCapabilityWarning(caps)).toBe('ignoring unknown or unavailable capabilities: [CAP_FOO UNKNOWN_CAP]');
    expect(unknownCapabilityWarning({ bounding: ['CAP_KILL'] })).toBeUndefined();
    expect(unknownCapabilityWarning(undefined)).toBeUndefined();
  });
});

describe('rlimits', () => {
  const expected: [string, number][] = [
    ['RLIMIT_CPU', 0],
    ['RLIMIT_FSIZE', 1],
    ['RLIMIT_DATA', 2],
    ['RLIMIT_STACK', 3],
    ['RLIMIT_CORE', 4],
    ['RLIMIT_RSS', 5],
    ['RLIMIT_NPROC', 6],
    ['RLIMIT_NOFILE', 7],
    ['RLIMIT_MEMLOCK', 8],
    ['RLIMIT_AS', 9],
    ['RLIMIT_LOCKS', 10],
    ['RLIMIT_SIGPENDING', 11],
    ['RLIMIT_MSGQUEUE', 12],
    ['RLIMIT_NICE', 13],
    ['RLIMIT_RTPRIO', 14],
    ['RLIMIT_RTTIME', 15],
  ];
  test('16 names', () => expect(Object.keys(RLIMIT_NUMBERS)).toHaveLength(16));
  test.each(expected)('%s = %d', (name, n) => {
    expect(rlimitNumber(name)).toBe(n);
    expect(resolveRlimits([{ type: name, soft: 1, hard: 2 }])).toEqual([{ resource: n, soft: 1, hard: 2 }]);
  });

  test('in order, in the process', () => {
    const p = planProcess(
      proc({
        rlimits: [
          { type: 'RLIMIT_NPROC', soft: 100, hard: 200 },
          { type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 },
          { type: 'RLIMIT_CORE', soft: 0, hard: 0 },
        ],
      }),
    );
    expect(p.rlimits).toEqual([
      { resource: 6, soft: 100, hard: 200 },
      { resource: 7, soft: 1024, hard: 1024 },
      { resource: 4, soft: 0, hard: 0 },
    ]);
  });

  test('unknown type', () => {
    expect(rlimitNumber('RLIMIT_FOO')).toBeUndefined();
    expect(rlimitNumber('constructor')).toBeUndefined();
    expect(() => planProcess(proc({ rlimits: [{ type: 'RLIMIT_FOO', soft: 1, hard: 1 }] }))).toThrow(
      'process.rlimits[0].type: unknown rlimit type "RLIMIT_FOO"',
    );
  });

  test('duplicate type', () => {
    expect(() =>
      planProcess(
        proc({
          rlimits: [
            { type: 'RLIMIT_NOFILE', soft: 1, hard: 1 },
            { type: 'RLIMIT_NOFILE', soft: 2, hard: 2 },
          ],
        }),
      ),
    ).toThrow('process.rlimits[1].type: rlimit "RLIMIT_NOFILE" may not be specified twice');
  });

  test('bad values', () => {
    expect(() => resolveRlimits([{ type: 'RLIMIT_NOFILE', soft: 10, hard: 5 }])).toThrow(
      'process.rlimits[0]: soft limit 10 of RLIMIT_NOFILE exceeds hard limit 5',
    );
    expect(() => resolveRlimits([{ type: 'RLIMIT_NOFILE', soft: -1, hard: 5 }])).toThrow(/^process\.rlimits\[0\]\.soft: /);
    expect(() => resolveRlimits([{ type: 'RLIMIT_NOFILE', soft: 1.5, hard: 5 }])).toThrow(/^process\.rlimits\[0\]\.soft: /);
  });

  test('unlimited (2^64-1, rounded by JSON.parse) passes through', () => {
    const [rl] = JSON.parse('[{"type":"RLIMIT_CORE","soft":18446744073709551615,"hard":18446744073709551615}]');
    expect(resolveRlimits([rl])).toEqual([{ resource: 4, soft: 2 ** 64, hard: 2 ** 64 }]);
  });
});

describe('process', () => {
  test('defaults', () => {
    expect(planProcess(proc())).toEqual({
      args: ['/bin/sh'],
      env: [],
      cwd: '/',
      uid: 0,
      gid: 0,
      additionalGids: [],
      umask: -1,
      terminal: false,
      noNewPrivileges: false,
      rlimits: [],
    });
  });

  test('everything set', () => {
    const p = planProcess(
      proc({
        args: ['/bin/app', '--flag'],
        env: ['A=1', 'B=', 'C=x=y'],
        cwd: '/work',
        user: { uid: 1000, gid: 100, umask: 0o022, additionalGids: [5, 10] },
        terminal: true,
        consoleSize: { height: 40, width: 120 },
        noNewPrivileges: true,
        oomScoreAdj: -500,
      }),
    );
    expect(p).toEqual({
      args: ['/bin/app', '--flag'],
      env: ['A=1', 'B=', 'C=x=y'],
      cwd: '/work',
      uid: 1000,
      gid: 100,
      additionalGids: [5, 10],
      umask: 0o022,
      terminal: true,
      consoleSize: { height: 40, width: 120 },
      noNewPrivileges: true,
      rlimits: [],
      oomScoreAdj: -500,
    });
  });

  test('umask 0 is kept (not "absent")', () => {
    expect(planProcess(proc({ user: { uid: 0, gid: 0, umask: 0 } })).umask).toBe(0);
  });

  test('oomScoreAdj 0 is kept; out of range is an error', () => {
    expect(planProcess(proc({ oomScoreAdj: 0 })).oomScoreAdj).toBe(0);
    expect(() => planProcess(proc({ oomScoreAdj: 1001 }))).toThrow(/^process\.oomScoreAdj: /);
  });

  test('absent process', () => {
    expect(() => planProcess(undefined)).toThrow('process: must be set');
  });

  test('empty or absent args', () => {
    expect(() => planProcess(proc({ args: [] }))).toThrow('process.args must not be empty');
    expect(() => planProcess(proc({ args: undefined }))).toThrow('process.args must not be empty');
    expect(() => planProcess(proc({ args: [''] }))).toThrow('process.args[0]: must not be empty');
  });

  test('relative cwd is an error like runc', () => {
    expect(() => planProcess(proc({ cwd: 'home/user' }))).toThrow(TsociError);
    expect(() => planProcess(proc({ cwd: 'home/user' }))).toThrow('cwd property must be an absolute path');
    expect(() => planProcess(proc({ cwd: './' }))).toThrow(/^process\.cwd: cwd property must be an absolute path/);
    expect(() => planProcess(proc({ cwd: '' }))).toThrow('process.cwd: cwd property must not be empty');
  });

  test('bad env entries', () => {
    expect(() => planProcess(proc({ env: ['A=1', 'NOEQUALS'] }))).toThrow(
      `process.env[1]: invalid environment variable "NOEQUALS": missing '='`,
    );
    expect(() => planProcess(proc({ env: ['=x'] }))).toThrow(/^process\.env\[0\]: .*name cannot be empty/);
  });

  test('bad ids', () => {
    expect(() => planProcess(proc({ user: { uid: -1, gid: 0 } }))).toThrow(/^process\.user\.uid: /);
    expect(() => planProcess(proc({ user: { uid: 0, gid: 0, additionalGids: [1, 2 ** 32] } }))).toThrow(
      /^process\.user\.additionalGids\[1\]: /,
    );
  });

  test('the input is not aliased', () => {
    const input = proc({ args: ['a'], env: ['X=1'] });
    const p = planProcess(input);
    p.args.push('b');
    p.env.push('Y=2');
    expect(input.args).toEqual(['a']);
    expect(input.env).toEqual(['X=1']);
  });
});
