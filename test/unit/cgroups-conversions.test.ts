/** Resource value conversions (runc's formulas) and v1 device rule texts. Pure functions. */
import { sharesToWeight, swapToV2, blkioWeightToIoWeight } from '../../src/cgroups/resources-v2';
import { pidsMaxValue, deviceRuleText, rdmaLines } from '../../src/cgroups/resources-v1';
import { parseCgroupMountOptions, MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_RELATIME, MS_PRIVATE, MS_REC } from '../../src/cgroups/mounts';

test('cpu shares → weight: fixed points and clamping', () => {
  expect(sharesToWeight(0)).toBe(0);
  expect(sharesToWeight(1)).toBe(1);
  expect(sharesToWeight(2)).toBe(1);
  expect(sharesToWeight(1024)).toBe(100);
  expect(sharesToWeight(262144)).toBe(10000);
  expect(sharesToWeight(1_000_000)).toBe(10000);
  expect(sharesToWeight(512)).toBe(59);
  expect(sharesToWeight(2048)).toBe(174);
  // monotonic
  let prev = 0;
  for (let s = 2; s <= 262144; s *= 2) {
    const w = sharesToWeight(s);
    expect(w).toBeGreaterThanOrEqual(prev);
    prev = w;
  }
});

test('memory+swap → v2 swap', () => {
  expect(swapToV2(0, -1)).toBe(-1); // unlimited memory, swap unset → max
  expect(swapToV2(-1, 100)).toBe(-1);
  expect(swapToV2(0, 100)).toBe(0);
  expect(swapToV2(300, 100)).toBe(200);
  expect(swapToV2(100, 100)).toBe(0);
  expect(swapToV2(500, -1)).toBe(500);
  expect(() => swapToV2(300, 0)).toThrow(/without memory limit/);
  expect(() => swapToV2(50, 100)).toThrow(/should be >= memory limit/);
});

test('pids limit → pids.max (runtime-spec 1.3.0 / runc 1.4)', () => {
  expect(pidsMaxValue(2048)).toBe('2048');
  expect(pidsMaxValue(-1)).toBe('max');
  expect(pidsMaxValue(-5)).toBe('max');
  expect(pidsMaxValue(0)).toBe('1');
});

test('blkio weight → io.weight', () => {
  expect(blkioWeightToIoWeight(0)).toBe(0);
  expect(blkioWeightToIoWeight(10)).toBe(1);
  expect(blkioWeightToIoWeight(1000)).toBe(10000);
  expect(blkioWeightToIoWeight(500)).toBe(1 + Math.floor((490 * 9999) / 990));
});

test('device rule text', () => {
  expect(deviceRuleText({ allow: false, access: 'rwm' })).toBe('a');
  expect(deviceRuleText({ allow: true, type: 'c', major: 1, minor: 3, access: 'rw' })).toBe('c 1:3 rw');
  expect(deviceRuleText({ allow: true, type: 'c', major: 136, access: 'rwm' })).toBe('c 136:* rwm');
  expect(deviceRuleText({ allow: true, type: 'b', major: -1, minor: -1, access: 'm' })).toBe('b *:* m');
});

test('rdma lines', () => {
  expect(rdmaLines({ mlx5_0: { hcaHandles: 3 }, mlx4_1: { hcaHandles: 1, hcaObjects: 100 }, x: {} })).toEqual([
    'mlx5_0 hca_handle=3 hca_object=max',
    'mlx4_1 hca_handle=1 hca_object=100',
  ]);
});

test('cgroup mount options', () => {
  expect(parseCgroupMountOptions(['nosuid', 'noexec', 'nodev', 'relatime', 'ro', 'rprivate'])).toEqual({
    flags: MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY,
    propagation: [MS_PRIVATE | MS_REC],
    data: '',
  });
  expect(parseCgroupMountOptions(['ro', 'rw', 'nsdelegate']).flags).toBe(0);
  expect(parseCgroupMountOptions(['nsdelegate']).data).toBe('nsdelegate');
});
