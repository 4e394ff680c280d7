import * as fs from 'fs';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { stateOf, tsoci, uniqueId, TEST_ROOT, type Result } from '../helpers/tsoci';
import { dirsAt, hostHierarchies, ownCgroups, readCg, removeCgroupParents } from '../helpers/cgroups';
import { startFakeSystemd, type FakeCall, type FakeSystemd } from '../helpers/fake-systemd';

// The systemd cgroup driver (--systemd-cgroup) end to end. These hosts have no systemd, so
// tsoci talks to a FAKE org.freedesktop.systemd1 (test/fixtures/fake-systemd) on a private
// dbus-daemon: it creates and removes the scope's directories in the real cgroupfs and moves
// the PIDs as systemd would, and records what tsoci sent. TSOCI_SYSTEMD_ASSUME_RUNNING=1
// (test-only) stands in for /run/systemd/system. See the fixture for what the fake does.

const SLICE = 'tsocitest.slice';
const SCOPE_DIR = (id: string) => `/${SLICE}/tsoci-${id}.scope`;
let fake: FakeSystemd;
let bundle: string;
/** the containers this file made (only these are cleaned up here, with the fake's environment) */
const ids = new Set<string>();

beforeAll(async () => {
  fake = await startFakeSystemd();
  const spec = testSpec(['sleep', '100']);
  spec.linux.namespaces = spec.linux.namespaces.filter((n: { type: string }) => n.type !== 'cgroup');
  bundle = makeBundle(spec);
});

afterAll(async () => {
  for (const id of ids) if (fs.existsSync(path.join(TEST_ROOT, id))) sd(['delete', '--force', id]);
  await fake?.stop();
  if (bundle) removeBundle(bundle);
  removeCgroupParents([`/${SLICE}`]); // slice directories stay, as they would with systemd
});

function sd(args: string[], env: NodeJS.ProcessEnv = fake.env): Result {
  if (args[0] === 'create' || args[0] === 'run') ids.add(args[args.length - 1]);
  return tsoci(['--systemd-cgroup', ...args], { env });
}

function writeSpec(edit: (spec: Record<string, any>) => void): void {
  const file = path.join(bundle, 'config.json');
  const spec = testSpec(['sleep', '100']);
  spec.linux.namespaces = spec.linux.namespaces.filter((n: { type: string }) => n.type !== 'cgroup');
  edit(spec);
  fs.writeFileSync(file, JSON.stringify(spec));
}

function create(id: string, resources: Record<string, unknown> = {}, env?: NodeJS.ProcessEnv): Result {
  writeSpec((s) => {
    s.linux.cgroupsPath = `${SLICE}:tsoci:${id}`;
    s.linux.resources = resources;
  });
  return sd(['create', '--bundle', bundle, id], env);
}

const callsFor = (unit: string, method?: string): FakeCall[] => fake.state().calls.filter((c) => c.unit === unit && (!method || c.method === method));

/** Alive: exists and is not a zombie (this host's PID 1 reaps the killed inits it inherits lazily). */
function alive(pid: number | string): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Live processes whose cgroup names the unit (any hierarchy). */
function processesIn(unit: string): string[] {
  const out: string[] = [];
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(unit) && alive(pid)) out.push(pid);
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Nothing of a container left: no state, no unit in the fake, no directory, no process. */
function expectNothingLeft(id: string): void {
  const unit = `tsoci-${id}.scope`;
  expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
  expect(Object.keys(fake.state().units)).not.toContain(unit);
  expect(dirsAt(SCOPE_DIR(id))).toEqual([]);
  expect(processesIn(unit)).toEqual([]);
}

describe('a container in a transient scope', () => {
  const RESOURCES = {
    memory: { limit: 104857600 },
    cpu: { shares: 512, quota: 33333, period: 100000 },
    pids: { limit: 50 },
    devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 4, minor: 1, access: 'rw' }],
  };

  test('create: the scope is made over D-Bus with the init in it; resources as properties and in the files', () => {
    const id = uniqueId('sd');
    const unit = `tsoci-${id}.scope`;
    const r = create(id, RESOURCES);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);

    // what systemd was asked for
    const [start] = callsFor(unit, 'StartTransientUnit');
    expect(start.props).toMatchObject({
      Description: `tsoci container ${id}`, Slice: SLICE, Delegate: true,
      MemoryAccounting: true, CPUAccounting: true, BlockIOAccounting: true, TasksAccounting: true, DefaultDependencies: false,
      MemoryLimit: '104857600', CPUShares: '512', CPUQuotaPeriodUSec: '100000', CPUQuotaPerSecUSec: '340000', TasksMax: '50',
      DevicePolicy: 'strict',
    });
    expect(start.props!.PIDs).toHaveLength(1); // stage0, before it forked anything
    expect(start.props!.DeviceAllow).toContainEqual(['/dev/char/4:1', 'rw']);
    expect(start.sequence!.filter(([n]) => n === 'DeviceAllow')[0]).toEqual(['DeviceAllow', []]); // reset first
    expect(fake.state().units[unit]).toMatchObject({ state: 'active', slice: SLICE });

    // the init is in the scope in every hierarchy: those systemd made and those tsoci made
    const st = JSON.parse(fs.readFileSync(path.join(TEST_ROOT, id, 'state.json'), 'utf8'));
    expect(st.systemdUnit).toBe(unit);
    const { pid } = stateOf(id);
    const cg = ownCgroups(pid);
    const { v1, unified } = hostHierarchies();
    for (const h of v1) expect([h.controllers.join(','), cg[h.controllers[0]]]).toEqual([h.controllers.join(','), SCOPE_DIR(id)]);
    if (unified) expect(cg['']).toBe(SCOPE_DIR(id));

    // and the files hold the values (the CPU quota as systemd rounds it: 34 % of a CPU)
    const p = st.cgroupPaths;
    expect(readCg(p.memory, 'memory.limit_in_bytes')).toBe('104857600');
    expect(readCg(p.cpu, 'cpu.shares')).toBe('512');
    expect(readCg(p.cpu, 'cpu.cfs_quota_us')).toBe('34000');
    expect(readCg(p.pids, 'pids.max')).toBe('50');
    expect(readCg(p.devices, 'devices.list').split('\n')).toContain('c 4:1 rw');
    expect(readCg(p.devices, 'devices.list')).not.toContain('a *:* rwm');

    // start, exec (joins the scope too), update (SetUnitProperties + files), delete
    const st0 = sd(['start', id]);
    expect(st0.stderr).toBe('');
    expect(st0.status).toBe(0);
    expect(stateOf(id).status).toBe('running');
    const ex = sd(['exec', id, 'cat', '/proc/self/cgroup']);
    expect(ex.status).toBe(0);
    expect(ex.stdout).toContain(`:memory:${SCOPE_DIR(id)}`);
    expect(ex.stdout).toContain(`:name=systemd:${SCOPE_DIR(id)}`);

    const up = sd(['update', '--memory', '209715200', '--pids-limit', '70', id]);
    expect(up.stderr).toBe('');
    const [set] = callsFor(unit, 'SetUnitProperties');
    expect(set.runtime).toBe(true);
    expect(set.props).toMatchObject({ MemoryLimit: '209715200', TasksMax: '70' });
    expect(set.props).not.toHaveProperty('DeviceAllow');
    expect(readCg(p.memory, 'memory.limit_in_bytes')).toBe('209715200');
    expect(readCg(p.pids, 'pids.max')).toBe('70');

    const del = sd(['delete', '--force', id]);
    expect(del.stderr).toBe('');
    expect(del.status).toBe(0);
    expect(callsFor(unit, 'StopUnit')).toHaveLength(1);
    expect(alive(pid)).toBe(false);
    expectNothingLeft(id);
  });

  test('delete needs no --systemd-cgroup: the unit is in the state', () => {
    const id = uniqueId('sd');
    expect(create(id).status).toBe(0);
    expect(tsoci(['delete', '--force', id], { env: fake.env }).status).toBe(0);
    expect(callsFor(`tsoci-${id}.scope`, 'StopUnit')).toHaveLength(1);
    expectNothingLeft(id);
  });

  test('run: the process runs in the scope, and the scope is stopped when it exits', () => {
    const id = uniqueId('sd');
    writeSpec((s) => {
      s.process.args = ['cat', '/proc/self/cgroup'];
      s.linux.cgroupsPath = `${SLICE}:tsoci:${id}`;
    });
    const r = sd(['run', '--bundle', bundle, id]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`:pids:${SCOPE_DIR(id)}`);
    expect(r.stdout).toContain(`0::${SCOPE_DIR(id)}`);
    expect(callsFor(`tsoci-${id}.scope`, 'StopUnit')).toHaveLength(1);
    expectNothingLeft(id);
  });

  test('JobRemoved before the method reply is still matched to its job', () => {
    const id = uniqueId('signal-first');
    expect(create(id).status).toBe(0);
    expect(sd(['delete', '--force', id]).status).toBe(0);
    expectNothingLeft(id);
  });

  test('a failed leftover unit of the same name is reset and the create retried (runc does the same)', () => {
    const id = uniqueId('sd');
    const unit = `tsoci-${id}.scope`;
    fake.addFailedUnit(unit);
    const r = create(id);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const calls = fake.state().calls.filter((c) => c.unit === unit).map((c) => c.method);
    expect(calls).toEqual(['StartTransientUnit', 'ResetFailedUnit', 'StartTransientUnit']);
    expect(sd(['delete', '--force', id]).status).toBe(0);
    expectNothingLeft(id);
  });
});

describe('failures are clear and leave nothing behind', () => {
  test('the system bus cannot be reached', () => {
    const id = uniqueId('sd');
    const r = create(id, {}, { ...fake.env, DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/nonexistent/tsoci-test-bus' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/systemd cgroup driver: cannot connect to the system bus at unix:path=\/nonexistent\/tsoci-test-bus: .*ENOENT/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(callsFor(`tsoci-${id}.scope`)).toEqual([]);
    expectNothingLeft(id);
  });

  test('the bus answers but systemd is not on it', async () => {
    const bare = await startFakeSystemd({ service: false });
    try {
      const id = uniqueId('sd');
      const r = create(id, {}, bare.env);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`systemd cgroup driver: systemd is not reachable on the system bus at ${bare.address}: `);
      expect(r.stderr).toContain('(org.freedesktop.DBus.Error.ServiceUnknown)');
      expectNothingLeft(id);
    } finally {
      await bare.stop();
    }
  });

  test('StartTransientUnit returns an error', () => {
    const id = uniqueId('fail-start');
    const r = create(id);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`systemd cgroup driver: cannot create unit tsoci-${id}.scope: fake systemd: refusing`);
    expect(r.stderr).toContain('(org.freedesktop.DBus.Error.InvalidArgs)');
    // refused: the unit is not ours, so nothing stops it
    expect(callsFor(`tsoci-${id}.scope`, 'StopUnit')).toEqual([]);
    expectNothingLeft(id);
  });

  test('the job ends with "failed"', () => {
    const id = uniqueId('fail-job');
    const unit = `tsoci-${id}.scope`;
    const r = create(id);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`systemd cgroup driver: error creating unit ${unit}: job failed`);
    expect(callsFor(unit, 'ResetFailedUnit').length).toBeGreaterThan(0); // the failed unit is unloaded
    expectNothingLeft(id);
  });

  test('the unit exists and is active (another container): refused, and the other container keeps its scope', () => {
    const owner = uniqueId('sd');
    expect(create(owner).status).toBe(0);
    const ownerPid = stateOf(owner).pid;
    const intruder = uniqueId('sd');
    writeSpec((s) => {
      s.linux.cgroupsPath = `${SLICE}:tsoci:${owner}`; // the same unit name
    });
    const r = sd(['create', '--bundle', bundle, intruder]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`cannot create unit tsoci-${owner}.scope: Unit tsoci-${owner}.scope was already loaded`);
    expect(r.stderr).toContain('org.freedesktop.systemd1.UnitExists');
    expect(fs.existsSync(path.join(TEST_ROOT, intruder))).toBe(false);
    // the owner is untouched: unit active, init alive and still in the scope
    expect(callsFor(`tsoci-${owner}.scope`, 'StopUnit')).toEqual([]);
    expect(fake.state().units[`tsoci-${owner}.scope`].state).toBe('active');
    expect(ownCgroups(ownerPid).memory).toBe(SCOPE_DIR(owner));
    expect(sd(['delete', '--force', owner]).status).toBe(0);
    expectNothingLeft(owner);
  });

  test('systemd not running (no /run/systemd/system, no test override)', () => {
    if (fs.existsSync('/run/systemd/system')) return; // a host with systemd: nothing to check here
    const id = uniqueId('sd');
    const env = { ...fake.env };
    delete env.TSOCI_SYSTEMD_ASSUME_RUNNING;
    const r = create(id, {}, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('systemd cgroup driver: systemd is not running (no /run/systemd/system)');
    expectNothingLeft(id);
  });
});
