import { ramInBytes, parseDuration } from '../../src/util/units';
import { mergeResources } from '../../src/container/update';
import { resourcesFromArgs } from '../../src/cli/update-args';
import { filterPsOutput } from '../../src/container/ps';
import { eventLine, oomHappened } from '../../src/container/events';

describe('ramInBytes (runc --memory values)', () => {
  test.each([
    ['0', 0], ['1024', 1024], ['512m', 512 * 2 ** 20], ['512M', 512 * 2 ** 20], ['1g', 2 ** 30], ['1GiB', 2 ** 30], ['1gb', 2 ** 30],
    ['100 kb', 102400], ['1.5k', 1536], ['32b', 32], ['2t', 2 * 2 ** 40],
  ])('%s → %d', (text, n) => expect(ramInBytes(text)).toBe(n));
  test.each(['', 'm', '-1', '-5m', '12x', '1kbb', '1mbit', '1kib2', 'abc'])('%s is refused', (text) => expect(() => ramInBytes(text)).toThrow(/invalid/));
});

describe('parseDuration (Go durations)', () => {
  test.each([['5s', 5000], ['100ms', 100], ['1m30s', 90000], ['1.5h', 5400000], ['0', 0], ['250us', 0.25], ['250\u00b5s', 0.25], ['250\u03bcs', 0.25]])('%s → %d ms', (t, ms) => expect(parseDuration(t)).toBe(ms));
  test.each(['', '5', 's', '5x', '1 s'])('%s is refused', (t) => expect(() => parseDuration(t)).toThrow(/invalid duration/));
});

describe('update: merging a request into the stored resources (runc semantics)', () => {
  const old = {
    devices: [{ allow: false, access: 'rwm' }],
    memory: { limit: 100, swap: 200, reservation: 50 },
    cpu: { shares: 512, quota: 10000, period: 100000, cpus: '0' },
    pids: { limit: 10 },
    blockIO: { weight: 100, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1 }] },
    hugepageLimits: [{ pageSize: '2MB', limit: 0 }],
  };
  test('a field left out keeps its old value; devices and hugepages are untouched', () => {
    const m = mergeResources(old, { memory: { limit: 300 } });
    expect(m.memory).toEqual({ limit: 300, swap: 200, reservation: 50 });
    expect(m.cpu).toEqual(old.cpu);
    expect(m.pids).toEqual({ limit: 10 });
    expect(m.devices).toEqual(old.devices);
    expect(m.hugepageLimits).toEqual(old.hugepageLimits);
    expect(old.memory.limit).toBe(100); // not mutated
  });
  test('quota alone keeps the old period; period alone keeps the old quota; both replace both', () => {
    expect(mergeResources(old, { cpu: { quota: 5000 } }).cpu).toMatchObject({ quota: 5000, period: 100000 });
    expect(mergeResources(old, { cpu: { period: 50000 } }).cpu).toMatchObject({ quota: 10000, period: 50000 });
    expect(mergeResources(old, { cpu: { period: 50000, quota: 25000 } }).cpu).toMatchObject({ quota: 25000, period: 50000 });
  });
  test('memory -1 without swap: unlimited swap as well; idle without shares resets shares', () => {
    expect(mergeResources(old, { memory: { limit: -1 } }).memory).toMatchObject({ limit: -1, swap: 0 });
    expect(mergeResources(old, { cpu: { idle: 1 } }).cpu).toMatchObject({ idle: 1, shares: 0 });
  });
  test('pids, blockIO weight and throttle devices (upsert)', () => {
    const m = mergeResources(old, {
      pids: { limit: -1 },
      blockIO: { weight: 300, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 9 }, { major: 8, minor: 16, rate: 7 }] },
    });
    expect(m.pids).toEqual({ limit: -1 });
    expect(m.blockIO).toEqual({ weight: 300, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 9 }, { major: 8, minor: 16, rate: 7 }] });
  });
  test('with nothing stored', () => {
    expect(mergeResources(undefined, { memory: { limit: 1 }, cpu: { shares: 2 } })).toEqual({ memory: { limit: 1 }, cpu: { shares: 2 } });
  });
});

describe('update: the per-knob flags', () => {
  test('parsed like runc', () => {
    expect(resourcesFromArgs({
      memory: '512m', 'memory-swap': '-1', 'memory-reservation': '1g', 'cpu-quota': '-1', 'cpu-period': '100000', 'cpu-share': '1024',
      'cpu-rt-runtime': '950', 'cpu-rt-period': '1000000', 'cpu-burst': '10', 'cpuset-cpus': '0-1', 'cpuset-mems': '0', 'pids-limit': '20', 'blkio-weight': '500',
    })).toEqual({
      memory: { limit: 512 * 2 ** 20, swap: -1, reservation: 2 ** 30 },
      cpu: { quota: -1, period: 100000, shares: 1024, realtimeRuntime: 950, realtimePeriod: 1000000, burst: 10, cpus: '0-1', mems: '0' },
      pids: { limit: 20 },
      blockIO: { weight: 500 },
    });
  });
  test('nothing set → an empty document; bad numbers are refused with the flag name', () => {
    expect(resourcesFromArgs({})).toEqual({});
    expect(() => resourcesFromArgs({ 'cpu-period': '-5' })).toThrow('invalid value for cpu-period');
    expect(() => resourcesFromArgs({ memory: '5q' })).toThrow('invalid value for memory');
    expect(() => resourcesFromArgs({ 'pids-limit': 'x' })).toThrow('invalid value for pids-limit');
  });
});

describe('ps table filtering', () => {
  const out = 'UID        PID  PPID  C STIME TTY          TIME CMD\nroot         1     0  0 01:14 ?        00:00:10 /init\nroot        42     1  0 01:14 ?        00:00:00 sleep 1\n';
  test('keeps the header and the container\'s lines', () => {
    expect(filterPsOutput(out, new Set([42]))).toBe('UID        PID  PPID  C STIME TTY          TIME CMD\nroot        42     1  0 01:14 ?        00:00:00 sleep 1\n');
  });
  test('no PID column is an error', () => {
    expect(() => filterPsOutput('USER COMMAND\nroot sh\n', new Set([1]))).toThrow("couldn't find PID field");
  });
});

describe('events', () => {
  test('event lines in runc\'s shape', () => {
    expect(eventLine('oom', 'c1')).toBe('{"type":"oom","id":"c1"}\n');
    expect(JSON.parse(eventLine('stats', 'c1', '{"pids":{"current":1}}'))).toEqual({ type: 'stats', id: 'c1', data: { pids: { current: 1 } } });
  });
  test('an OOM is a new kill, or entering OOM with the killer disabled', () => {
    expect(oomHappened({ kills: 0, under: false }, { kills: 1, under: false })).toBe(true);
    expect(oomHappened({ kills: 1, under: false }, { kills: 1, under: false })).toBe(false);
    expect(oomHappened({ kills: 0, under: false }, { kills: 0, under: true })).toBe(true);
    expect(oomHappened({ kills: 0, under: true }, { kills: 0, under: true })).toBe(false);
    expect(oomHappened(undefined, undefined)).toBe(false);
  });
});
