import * as fs from 'fs';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, tsoci, uniqueId } from '../helpers/tsoci';

// Small behaviours runc's integration suite pins down: mask.bats "duplicate paths" (a masked
// path listed twice is masked once), capabilities.bats (an ambient capability it cannot raise).
afterEach(() => deleteAll());

test('a masked or read-only path listed twice gets one mount', () => {
  const spec = testSpec(['sh', '-c', 'grep -c " /proc/meminfo " /proc/self/mountinfo; grep -c " /proc/sys " /proc/self/mountinfo']);
  spec.linux.maskedPaths = ['/proc/meminfo', '/proc/meminfo', '/proc/meminfo/'];
  spec.linux.readonlyPaths = ['/proc/sys', '/proc/sys'];
  const bundle = makeBundle(spec);
  try {
    const r = tsoci(['run', '--bundle', bundle, uniqueId('mask')]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('1\n1\n');
  } finally {
    removeBundle(bundle);
  }
});

// runc's capabilities.bats "ambient caps not set in inheritable result in a warning"
test('an ambient capability that cannot be raised: a warning, the others are raised, the container runs', () => {
  const spec = testSpec(['sh', '-c', 'grep CapAmb /proc/self/status']);
  spec.process.capabilities = { ...spec.process.capabilities, inheritable: ['CAP_KILL'], ambient: ['CAP_KILL', 'CAP_CHOWN'] };
  spec.process.capabilities.permitted = [...new Set([...(spec.process.capabilities.permitted ?? []), 'CAP_KILL'])];
  spec.process.capabilities.effective = [...new Set([...(spec.process.capabilities.effective ?? []), 'CAP_KILL'])];
  spec.process.capabilities.bounding = [...new Set([...(spec.process.capabilities.bounding ?? []), 'CAP_KILL'])];
  const bundle = makeBundle(spec);
  try {
    const r = tsoci(['run', '--bundle', bundle, uniqueId('amb')]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("warning: can't raise ambient capability CAP_CHOWN: operation not permitted\n");
    expect(r.stdout).toBe('CapAmb:\t0000000000000020\n');
  } finally {
    removeBundle(bundle);
  }
});

// runc's memorypolicy.bats "run and exec memory policy prefer relative"
test('an exec\'d process gets the container\'s memory policy', () => {
  const spec = testSpec(['sleep', '600']);
  spec.linux.memoryPolicy = { mode: 'MPOL_PREFERRED', nodes: '0', flags: ['MPOL_F_RELATIVE_NODES'] };
  const bundle = makeBundle(spec);
  const id = uniqueId('mpexec');
  try {
    expect(tsoci(['run', '-d', '--bundle', bundle, id]).status).toBe(0);
    const r = tsoci(['exec', id, 'sh', '-c', 'head -n 1 /proc/self/numa_maps | cut -d " " -f 2']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('prefer=relative:0\n');
  } finally {
    tsoci(['delete', '--force', id]);
    removeBundle(bundle);
  }
});

// runc's capabilities.bats "runc run with unknown capability": runtime-spec 1.3.0 config.md
// (a capability that cannot be mapped MUST be logged as a warning; runtimes SHOULD NOT fail)
test('an unknown capability is left out with runc\'s warning; run and exec --cap go on', () => {
  const spec = testSpec(['sh', '-c', 'grep -E "^Cap(Bnd|Amb)" /proc/self/status; sleep 600']);
  spec.process.capabilities = { ...spec.process.capabilities, bounding: ['CAP_UNKNOWN', 'CAP_KILL', 'UNKNOWN_CAP'] };
  const bundle = makeBundle(spec);
  const id = uniqueId('unkcap');
  try {
    const r = tsoci(['run', '-d', '--bundle', bundle, id]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^time="[^"]+" level=warning msg="ignoring unknown or unavailable capabilities: \[CAP_UNKNOWN UNKNOWN_CAP\]"\n$/);
    const e = tsoci(['exec', '--cap', 'CAP_BOGUS', id, 'grep', '^CapBnd', '/proc/self/status']);
    expect(e.status).toBe(0);
    expect(e.stderr).toMatch(/level=warning msg="ignoring unknown or unavailable capabilities: \[CAP_BOGUS CAP_UNKNOWN UNKNOWN_CAP\]"\n$/);
    expect(e.stdout).toBe('CapBnd:\t0000000000000020\n');
  } finally {
    tsoci(['delete', '--force', id]);
    removeBundle(bundle);
  }
});

test('with --log (json) the unknown-capability warning goes to the log file only, in logrus\'s form', () => {
  const spec = testSpec(['true']);
  spec.process.capabilities = { ...spec.process.capabilities, bounding: ['CAP_NOPE'] };
  const bundle = makeBundle(spec);
  const log = path.join(bundle, 'tsoci.log');
  try {
    const r = tsoci(['--log', log, '--log-format', 'json', 'run', '--bundle', bundle, uniqueId('caplog')]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([{ level: 'warning', msg: 'ignoring unknown or unavailable capabilities: [CAP_NOPE]', time: expect.any(String) }]);
  } finally {
    removeBundle(bundle);
  }
});

// runc's capabilities.bats "runc run with some capabilities": `"user": {"uid": 0}`
test('process.user without gid (or uid) means 0, as in runc', () => {
  const spec = testSpec(['sh', '-c', 'echo $(id -u):$(id -g)']);
  spec.process.user = { uid: 1000 };
  const bundle = makeBundle(spec);
  try {
    let r = tsoci(['run', '--bundle', bundle, uniqueId('nogid')]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('1000:0\n');
    spec.process.user = { gid: 1000 };
    fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
    r = tsoci(['run', '--bundle', bundle, uniqueId('nouid')]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('0:1000\n');
  } finally {
    removeBundle(bundle);
  }
});
