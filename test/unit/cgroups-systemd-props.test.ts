/**
 * The systemd driver's property mapping (pure): spec resources → transient unit properties,
 * checked against what runc's driver sends for the same input (opencontainers/cgroups
 * systemd/v1.go, v2.go, common.go, devices/systemd.go).
 */
import { deviceProperties, rangeToBits, resourceProperties, scopeProperties, SD_INFINITY, systemdCpuQuota, type SdProp } from '../../src/cgroups/systemd-props';
import { parseVersion } from '../../src/cgroups/systemd-dbus';

const obj = (props: SdProp[]) => Object.fromEntries(props.map((p) => [p.name, p.value]));
const sigs = (props: SdProp[]) => Object.fromEntries(props.map((p) => [p.name, p.sig]));
const base = { unit: 'tsoci-c1.scope', slice: 'machine.slice', description: 'tsoci container c1', pid: 4242, version: 252 };

describe('scope properties', () => {
  test('a scope: Slice, Delegate, PIDs, accounting, no default dependencies (v1 / hybrid)', () => {
    const { props } = scopeProperties({ ...base, v2: false });
    const o = obj(props);
    expect(o).toMatchObject({
      Description: 'tsoci container c1', Slice: 'machine.slice', Delegate: true, PIDs: [4242],
      MemoryAccounting: true, CPUAccounting: true, BlockIOAccounting: true, TasksAccounting: true, DefaultDependencies: false,
    });
    expect(o.IOAccounting).toBeUndefined();
    expect(o.Wants).toBeUndefined();
    expect(sigs(props)).toMatchObject({ Slice: 's', Delegate: 'b', PIDs: 'au', DefaultDependencies: 'b' });
    // the head of the list, in runc's order
    expect(props.slice(0, 9).map((p) => p.name)).toEqual(['Description', 'Slice', 'Delegate', 'PIDs', 'MemoryAccounting', 'CPUAccounting', 'BlockIOAccounting', 'TasksAccounting', 'DefaultDependencies']);
  });
  test('v2 uses IOAccounting; a ".slice" unit gets Wants= and no Delegate', () => {
    expect(obj(scopeProperties({ ...base, v2: true }).props)).toMatchObject({ IOAccounting: true });
    const o = obj(scopeProperties({ ...base, unit: 'pod1.slice', v2: false }).props);
    expect(o.Wants).toBe('machine.slice');
    expect(o.Slice).toBeUndefined();
    expect(o.Delegate).toBeUndefined();
  });
  test('OOMPolicy from unified memory.oom.group (v2, systemd >= 253 only)', () => {
    const r = { unified: { 'memory.oom.group': '1' } };
    expect(obj(scopeProperties({ ...base, v2: true, version: 253, resources: r }).props).OOMPolicy).toBe('kill');
    expect(obj(scopeProperties({ ...base, v2: true, version: 253, resources: { unified: { 'memory.oom.group': '0' } } }).props).OOMPolicy).toBe('continue');
    expect(obj(scopeProperties({ ...base, v2: true, version: 252, resources: r }).props).OOMPolicy).toBeUndefined();
  });
});

describe('resource properties', () => {
  const v1 = (r: object, version = 252) => obj(resourceProperties(r, { v2: false, version }).props);
  const v2 = (r: object, version = 252) => obj(resourceProperties(r, { v2: true, version }).props);

  test('v1: MemoryLimit, CPUShares, BlockIOWeight, TasksMax as uint64', () => {
    const props = resourceProperties({ memory: { limit: 104857600 }, cpu: { shares: 512 }, blockIO: { weight: 300 }, pids: { limit: 50 } }, { v2: false, version: 252 }).props;
    expect(obj(props)).toMatchObject({ MemoryLimit: 104857600n, CPUShares: 512n, BlockIOWeight: 300n, TasksMax: 50n });
    expect(sigs(props)).toMatchObject({ MemoryLimit: 't', CPUShares: 't', BlockIOWeight: 't', TasksMax: 't' });
    expect(v1({ memory: { limit: -1 } }).MemoryLimit).toBe(SD_INFINITY);
    expect(v1({ memory: { reservation: 5 } })).not.toHaveProperty('MemoryLow'); // v1 driver: files only
  });
  test('TasksMax: 0 → 1 (systemd refuses 0), negative → infinity', () => {
    expect(v1({ pids: { limit: 0 } }).TasksMax).toBe(1n);
    expect(v1({ pids: { limit: -1 } }).TasksMax).toBe(SD_INFINITY);
    expect(v1({})).not.toHaveProperty('TasksMax');
  });
  test('v2: MemoryMax, MemoryLow, MemorySwapMax (swap only), CPUWeight from shares', () => {
    const o = v2({ memory: { limit: 1000000, reservation: 500000, swap: 3000000 }, cpu: { shares: 1024 } });
    expect(o).toMatchObject({ MemoryMax: 1000000n, MemoryLow: 500000n, MemorySwapMax: 2000000n, CPUWeight: 100n });
    expect(o.MemoryLimit).toBeUndefined();
    expect(o.CPUShares).toBeUndefined();
    expect(v2({ memory: { limit: 1000, swap: -1 } }).MemorySwapMax).toBe(SD_INFINITY);
    expect(v2({ cpu: { idle: 1, shares: 1024 } }).CPUWeight).toBe(0n);
    expect(v2({ cpu: { idle: 1, shares: 1024 } }, 251).CPUWeight).toBe(100n);
    expect(v2({ cpu: { shares: 2 } }).CPUWeight).toBe(1n);
  });
  test('CPU quota: per-second value rounded up to whole percents, period from systemd 242', () => {
    expect(v1({ cpu: { quota: 50000, period: 100000 } })).toMatchObject({ CPUQuotaPerSecUSec: 500000n, CPUQuotaPeriodUSec: 100000n });
    expect(v1({ cpu: { quota: 33333, period: 100000 } }).CPUQuotaPerSecUSec).toBe(340000n);
    expect(v1({ cpu: { quota: 33333 } }).CPUQuotaPerSecUSec).toBe(340000n); // default period
    expect(v1({ cpu: { quota: 20000, period: 50000 } }, 241)).toEqual({ ...v1({}, 241), CPUQuotaPerSecUSec: 400000n });
    expect(v1({ cpu: { quota: -1 } }).CPUQuotaPerSecUSec).toBe(SD_INFINITY);
    expect(v1({ cpu: { period: 100000 } }).CPUQuotaPerSecUSec).toBe(SD_INFINITY);
    expect(v1({ cpu: {} })).not.toHaveProperty('CPUQuotaPerSecUSec');
    // the files get the quota systemd ends up applying
    expect(systemdCpuQuota(33333, 100000)).toBe(34000);
    expect(systemdCpuQuota(50000, 100000)).toBe(50000);
    expect(systemdCpuQuota(1, 0)).toBe(1000);
    expect(systemdCpuQuota(-1, 100000)).toBe(-1);
  });
  test('cpuset: AllowedCPUs / AllowedMemoryNodes as byte masks from systemd 244', () => {
    const props = resourceProperties({ cpu: { cpus: '0-2,9', mems: '0' } }, { v2: false, version: 244 }).props;
    expect(obj(props)).toMatchObject({ AllowedCPUs: [0b00000111, 0b00000010], AllowedMemoryNodes: [1] });
    expect(sigs(props).AllowedCPUs).toBe('ay');
    expect(v1({ cpu: { cpus: '0-1' } }, 243)).not.toHaveProperty('AllowedCPUs');
  });
  test('rangeToBits', () => {
    expect(rangeToBits('0')).toEqual([1]);
    expect(rangeToBits('1,3-5')).toEqual([0b00111010]);
    expect(rangeToBits(' 8 ,, ')).toEqual([0, 1]);
    expect(() => rangeToBits('3-1')).toThrow(/invalid range/);
    expect(() => rangeToBits('x')).toThrow(/invalid number/);
    expect(() => rangeToBits('')).toThrow(/empty/);
  });
  test('v2 unified keys systemd knows become properties; the rest only go to the files', () => {
    const o = v2({ unified: { 'memory.high': '4096', 'memory.max': 'max', 'pids.max': '0', 'cpu.max': '25000 50000', 'cpu.weight': '77', 'io.weight': '50' } });
    expect(o).toMatchObject({ MemoryHigh: 4096n, MemoryMax: SD_INFINITY, TasksMax: 1n, CPUQuotaPerSecUSec: 500000n, CPUQuotaPeriodUSec: 50000n, CPUWeight: 77n });
    expect(o).not.toHaveProperty('IOWeight');
    expect(() => v2({ unified: { 'memory.max': 'lots' } })).toThrow(/memory.max/);
    expect(() => v2({ unified: { 'a/b': '1' } })).toThrow(/CONTROLLER.PARAMETER/);
  });
  test('update sends no device properties', () => {
    const names = resourceProperties({ memory: { limit: 5 } }, { v2: false, version: 252, update: true }).props.map((p) => p.name);
    expect(names).toEqual(['MemoryLimit']);
  });
});

describe('device properties', () => {
  const defaults: [string, string][] = [
    ['char-*', 'm'], ['block-*', 'm'], ['/dev/char/1:3', 'rwm'], ['/dev/char/1:8', 'rwm'], ['/dev/char/1:7', 'rwm'],
    ['/dev/char/5:0', 'rwm'], ['/dev/char/1:5', 'rwm'], ['/dev/char/1:9', 'rwm'], ['char-136', 'rwm'], ['/dev/char/5:2', 'rwm'], ['/dev/char/10:200', 'rwm'],
  ];
  test('deny all + the spec\'s rules + runc\'s defaults → strict policy and an allow list (reset first)', () => {
    const props = deviceProperties([{ allow: false, access: 'rwm' }, { allow: true, type: 'b', major: 8, minor: 0, access: 'rw' }], 252);
    expect(props.map((p) => [p.name, p.value])).toEqual([
      ['DeviceAllow', []],
      ['DevicePolicy', 'strict'],
      ['DeviceAllow', [['/dev/block/8:0', 'rw'], ...defaults]],
    ]);
    expect(props.every((p) => p.sig === (p.name === 'DevicePolicy' ? 's' : 'a(ss)'))).toBe(true);
  });
  test('later rules change earlier ones: a deny takes permissions back, "a" resets', () => {
    const allow = (p: SdProp[]) => p[2].value as [string, string][];
    const props = deviceProperties([{ allow: true, type: 'c', major: 4, minor: 1, access: 'rwm' }, { allow: false, type: 'c', major: 4, minor: 1, access: 'w' }], 252);
    expect(allow(props)[0]).toEqual(['/dev/char/4:1', 'rm']);
    const reset = deviceProperties([{ allow: true, type: 'c', major: 4, minor: 1 }, { allow: false }], 252);
    expect(allow(reset)).toEqual(defaults);
  });
  test('allow all → policy auto; allow all with denies → deny-all for systemd, with a warning', () => {
    // runc's defaults come after the spec's rules: an "allow all" last in the spec still
    // allows everything (the defaults add nothing to it)
    expect(deviceProperties([{ allow: true, access: 'rwm' }], 252).map((p) => [p.name, p.value])).toEqual([['DeviceAllow', []], ['DevicePolicy', 'auto']]);
    const warnings: string[] = [];
    const props = deviceProperties([{ allow: true }, { allow: false, type: 'c', major: 1, minor: 1, access: 'rwm' }], 252, warnings);
    expect(props.map((p) => [p.name, p.value])).toEqual([['DeviceAllow', []], ['DevicePolicy', 'strict']]);
    expect(warnings[0]).toMatch(/deny/);
  });
  test('"*:n" cannot be expressed (skipped, warned); "n:*" needs systemd 240', () => {
    const warnings: string[] = [];
    const props = deviceProperties([{ allow: true, type: 'c', major: -1, minor: 7, access: 'r' }], 239, warnings);
    const list = props[2].value as [string, string][];
    expect(list.some(([p]) => p.includes(':7') && p.startsWith('char-'))).toBe(false);
    expect(list.some(([p]) => p === 'char-136')).toBe(false); // 239: no "char-<major>"
    expect(warnings.length).toBe(2);
  });
});

test('systemd version strings', () => {
  expect(parseVersion('252')).toBe(252);
  expect(parseVersion('"v245.4-1.fc32"')).toBe(245);
  expect(parseVersion('252.30-1~deb12u2')).toBe(252);
  expect(parseVersion('unknown')).toBe(-1);
});
