import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, stateOf, tsoci, uniqueId, TEST_ROOT, TSOCI } from '../helpers/tsoci';
import { cgroupPathsOf, readCg, sleepMs, waitFor } from '../helpers/cgroups';

// ps, pause/resume, update and events --stats through the real CLI on real cgroups.

afterEach(() => deleteAll());

function startContainer(args: string[], edit: (s: Record<string, any>) => void = () => undefined): { id: string; bundle: string } {
  const spec = testSpec(args);
  edit(spec);
  const bundle = makeBundle(spec);
  const id = uniqueId('ppu');
  const r = tsoci(['run', '-d', '--bundle', bundle, id]);
  if (r.status !== 0) {
    removeBundle(bundle);
    throw new Error(`run -d failed: ${r.stderr}`);
  }
  return { id, bundle };
}

/** Deletes the container before its bundle: a running container may still write into its rootfs. */
function cleanup(c: { id: string; bundle: string }): void {
  tsoci(['delete', '--force', c.id]);
  removeBundle(c.bundle);
}

const cmdline = (pid: number) => {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
};

describe('ps', () => {
  let c: { id: string; bundle: string };
  beforeEach(() => {
    c = startContainer(['sh', '-c', 'sleep 600 & while true; do sleep 1; done']);
  });
  afterEach(() => cleanup(c));

  test('--format json: the host PIDs of the init and of every other process', () => {
    waitFor(() => JSON.parse(tsoci(['ps', '--format', 'json', c.id]).stdout).some((p: number) => cmdline(p) === 'sleep 600'));
    const r = tsoci(['ps', '--format', 'json', c.id]);
    expect(r.status).toBe(0);
    const pids: number[] = JSON.parse(r.stdout);
    expect(pids).toContain(stateOf(c.id).pid);
    expect(pids.length).toBeGreaterThanOrEqual(2);
    expect(pids).not.toContain(process.pid);
    // each is in the container's pids cgroup
    const procs = readCg(cgroupPathsOf(c.id).pids, 'cgroup.procs').split('\n').map(Number);
    // the init and the long-lived child are in the container's pids cgroup (the `sleep 1`s come and go)
    const child = pids.find((p) => cmdline(p) === 'sleep 600')!;
    expect(procs).toEqual(expect.arrayContaining([stateOf(c.id).pid, child]));
    // -f is --format; --format=json works too
    expect(JSON.parse(tsoci(['ps', '-f', 'json', c.id]).stdout)).toEqual(expect.arrayContaining([stateOf(c.id).pid]));
    expect(JSON.parse(tsoci(['ps', `--format=json`, c.id]).stdout)).toEqual(expect.arrayContaining([stateOf(c.id).pid]));
  });

  test('table: the host ps (default -ef) filtered to the container: the header and its processes only', () => {
    waitFor(() => JSON.parse(tsoci(['ps', '--format', 'json', c.id]).stdout).length >= 2);
    const r = tsoci(['ps', c.id]);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
    const pids = lines.slice(1).map((l) => Number(l.trim().split(/\s+/)[1]));
    expect(pids).toContain(stateOf(c.id).pid);
    expect(lines.some((l) => l.includes('sleep 600'))).toBe(true);
    expect(pids).not.toContain(process.pid);
    // options after the id go to ps
    const custom = tsoci(['ps', c.id, '-o', 'pid,comm']);
    expect(custom.stderr).toBe('');
    const cl = custom.stdout.trim().split('\n');
    expect(cl[0].trim()).toMatch(/^PID\s+COMMAND$/);
    expect(cl.slice(1).map((l) => l.trim().split(/\s+/)[1])).toContain('sleep');
  });

  test('an unknown format and an unknown container are errors', () => {
    expect(tsoci(['ps', '--format', 'yaml', c.id]).stderr).toContain('invalid format option');
    const r = tsoci(['ps', '--format', 'json', 'no-such-container']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('container "no-such-container" does not exist');
  });
});

describe('pause / resume', () => {
  test('a paused container makes no progress; state says paused; resume continues it', () => {
    const c = startContainer(['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; done']);
    const countFile = path.join(c.bundle, 'rootfs/tmp/count');
    // the loop truncates then writes: a reader (or the freezer) can catch the file empty
    const raw = () => fs.readFileSync(countFile, 'utf8');
    let lastCount = 0;
    const count = () => {
      const t = raw().trim();
      if (t) lastCount = Number(t);
      return lastCount;
    };
    try {
      waitFor(() => fs.existsSync(countFile) && count() > 100);
      expect(tsoci(['pause', c.id]).stderr).toBe('');
      expect(stateOf(c.id).status).toBe('paused');
      expect(readCg(cgroupPathsOf(c.id).freezer, 'freezer.state')).toBe('FROZEN');
      const frozenText = raw();
      const frozenAt = count();
      sleepMs(500);
      expect(raw()).toBe(frozenText);
      // errors: pausing a paused container; list shows paused
      expect(tsoci(['pause', c.id]).stderr).toContain('container not running');
      expect(JSON.parse(tsoci(['list', '--format', 'json']).stdout).find((x: any) => x.id === c.id).status).toBe('paused');

      expect(tsoci(['resume', c.id]).stderr).toBe('');
      expect(stateOf(c.id).status).toBe('running');
      waitFor(() => count() > frozenAt + 100);
      expect(tsoci(['resume', c.id]).stderr).toContain('container not paused');
    } finally {
      cleanup(c);
    }
  });

  test('pause/resume of a created container, of a stopped one; SIGKILL ends a paused container; delete --force of a paused one is quick', () => {
    const bundle = makeBundle(testSpec(['sleep', '600']));
    try {
      const id = uniqueId('pz');
      expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
      expect(tsoci(['resume', id]).stderr).toContain('container not paused');
      // a created container can be paused (state: paused, start refused) and resumed (created again)
      expect(tsoci(['pause', id]).stderr).toBe('');
      expect(stateOf(id).status).toBe('paused');
      expect(tsoci(['start', id]).stderr).toContain('cannot start a container that is paused');
      expect(tsoci(['resume', id]).stderr).toBe('');
      expect(stateOf(id).status).toBe('created');
      expect(tsoci(['start', id]).status).toBe(0);
      expect(stateOf(id).status).toBe('running');
      expect(tsoci(['pause', id]).status).toBe(0);
      expect(tsoci(['kill', id, 'KILL']).status).toBe(0);
      waitFor(() => stateOf(id).status === 'stopped', 5000);
      expect(tsoci(['pause', id]).stderr).toContain('container not running');
      expect(tsoci(['resume', id]).stderr).toContain('container not paused');
      expect(tsoci(['delete', id]).status).toBe(0);

      const id2 = uniqueId('pz');
      expect(tsoci(['run', '-d', '--bundle', bundle, id2]).status).toBe(0);
      expect(tsoci(['pause', id2]).status).toBe(0);
      const dirs = [...new Set(Object.values(cgroupPathsOf(id2)))];
      const t0 = Date.now();
      expect(tsoci(['delete', '--force', id2]).status).toBe(0);
      expect(Date.now() - t0).toBeLessThan(3000);
      for (const d of dirs) expect(fs.existsSync(d)).toBe(false);
      expect(tsoci(['pause', 'no-such-container']).stderr).toContain('does not exist');
    } finally {
      removeBundle(bundle);
    }
  });
});

describe('update', () => {
  const MiB = 1024 * 1024;
  const storedResources = (id: string) => JSON.parse(fs.readFileSync(path.join(TEST_ROOT, id, 'config.json'), 'utf8')).linux.resources;

  test('per-knob flags change the limits in cgroupfs and in the stored spec', () => {
    const c = startContainer(['sleep', '600'], (s) => {
      s.linux.resources = { memory: { limit: 64 * MiB }, pids: { limit: 100 }, cpu: { shares: 512 } };
    });
    try {
      const p = cgroupPathsOf(c.id);
      expect(readCg(p.memory, 'memory.limit_in_bytes')).toBe(String(64 * MiB));
      expect(readCg(p.pids, 'pids.max')).toBe('100');
      const r = tsoci(['update', '--memory', '128m', '--memory-swap', '256M', '--pids-limit', '50', '--cpu-quota', '50000', '--cpu-period', '100000', c.id]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(readCg(p.memory, 'memory.limit_in_bytes')).toBe(String(128 * MiB));
      expect(readCg(p.memory, 'memory.memsw.limit_in_bytes')).toBe(String(256 * MiB));
      expect(readCg(p.pids, 'pids.max')).toBe('50');
      expect(readCg(p.cpu, 'cpu.cfs_quota_us')).toBe('50000');
      expect(readCg(p.cpu, 'cpu.shares')).toBe('512'); // untouched
      expect(storedResources(c.id)).toMatchObject({
        memory: { limit: 128 * MiB, swap: 256 * MiB }, pids: { limit: 50 }, cpu: { shares: 512, quota: 50000, period: 100000 },
      });
      // a later quota alone keeps the stored period
      expect(tsoci(['update', '--cpu-quota', '20000', c.id]).status).toBe(0);
      expect(readCg(p.cpu, 'cpu.cfs_quota_us')).toBe('20000');
      expect(storedResources(c.id).cpu).toMatchObject({ quota: 20000, period: 100000 });
      // pids -1: unlimited
      expect(tsoci(['update', '--pids-limit', '-1', c.id]).status).toBe(0);
      expect(readCg(p.pids, 'pids.max')).toBe('max');
    } finally {
      cleanup(c);
    }
  });

  test('--resources FILE (podman) and --resources - (stdin); invalid documents and values are refused', () => {
    const c = startContainer(['sleep', '600'], (s) => {
      s.linux.resources = { memory: { limit: 64 * MiB } };
    });
    try {
      const p = cgroupPathsOf(c.id);
      const file = path.join(c.bundle, 'resources.json');
      fs.writeFileSync(file, JSON.stringify({ memory: { limit: 256 * MiB, swap: 512 * MiB }, cpu: { quota: 50000, period: 100000 } }));
      const r = tsoci(['update', `--resources=${file}`, c.id]);
      expect(r.stderr).toBe('');
      expect(readCg(p.memory, 'memory.limit_in_bytes')).toBe(String(256 * MiB));
      expect(readCg(p.memory, 'memory.memsw.limit_in_bytes')).toBe(String(512 * MiB));
      expect(readCg(p.cpu, 'cpu.cfs_quota_us')).toBe('50000');
      expect(readCg(p.cpu, 'cpu.cfs_period_us')).toBe('100000');

      const stdin = spawnSync(TSOCI, ['--root', TEST_ROOT, 'update', '-r', '-', c.id], { input: JSON.stringify({ pids: { limit: 7 } }), encoding: 'utf8' });
      expect(stdin.stderr).toBe('');
      expect(stdin.status).toBe(0);
      expect(readCg(p.pids, 'pids.max')).toBe('7');
      expect(storedResources(c.id)).toMatchObject({ memory: { limit: 256 * MiB, swap: 512 * MiB }, pids: { limit: 7 } });
      // what containerd's runc shim sends for `docker update`: `--resources -` (a space, then "-") before the id
      const log = path.join(c.bundle, 'log.json');
      const shim = spawnSync(TSOCI, ['--root', TEST_ROOT, '--log', log, '--log-format', 'json', 'update', '--resources', '-', c.id], {
        input: JSON.stringify({ pids: { limit: 9 }, cpu: { quota: 30000, period: 100000 } }), encoding: 'utf8',
      });
      expect(shim.stderr).toBe('');
      expect(shim.status).toBe(0);
      expect(readCg(p.pids, 'pids.max')).toBe('9');
      expect(readCg(p.cpu, 'cpu.cfs_quota_us')).toBe('30000');
      const eq = spawnSync(TSOCI, ['--root', TEST_ROOT, 'update', '--resources=-', c.id], { input: JSON.stringify({ pids: { limit: 11 } }), encoding: 'utf8' });
      expect(eq.stderr).toBe('');
      expect(readCg(p.pids, 'pids.max')).toBe('11');
      // stdin that is not JSON: one error line naming stdin
      const junk = spawnSync(TSOCI, ['--root', TEST_ROOT, 'update', '--resources', '-', c.id], { input: 'junk', encoding: 'utf8' });
      expect(junk.status).toBe(1);
      expect(junk.stderr).toMatch(/^invalid resources JSON in stdin: .*\n$/);
      expect(readCg(p.pids, 'pids.max')).toBe('11');

      fs.writeFileSync(file, JSON.stringify({ memory: { limit: 'lots' } }));
      const bad = tsoci(['update', '--resources', file, c.id]);
      expect(bad.status).toBe(1);
      expect(bad.stderr).toContain('invalid resources');
      fs.writeFileSync(file, '{not json');
      expect(tsoci(['update', '--resources', file, c.id]).stderr).toContain('invalid resources JSON');
      expect(tsoci(['update', '--memory', '12parsecs', c.id]).stderr).toContain('invalid value for memory');
      // the kernel refuses: memory+swap below memory; the previous limits stay
      const refused = tsoci(['update', '--memory-swap', '1m', c.id]);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(/memsw|invalid argument/);
      expect(readCg(p.memory, 'memory.limit_in_bytes')).toBe(String(256 * MiB));
      expect(storedResources(c.id).memory).toMatchObject({ limit: 256 * MiB, swap: 512 * MiB });
      // Intel RDT is not available on this host
      expect(tsoci(['update', '--l3-cache-schema', 'L3:0=f', c.id]).stderr).toContain('Intel RDT/CAT: l3 cache schema is not enabled');
    } finally {
      cleanup(c);
    }
  });

  // runc's update.bats "update devices [minimal transition rules]": access "rwa" (runc ignores
  // the letters other than r, w, m) and updates that must never interrupt an allowed device
  test('device rules with access "rwa" run; 30 updates never deny /dev/null nor open /dev/kmsg', () => {
    const c = startContainer(['sh', '-c', 'while true; do head -c 100 /dev/kmsg 2>/dev/null >> /kmsg.out; echo x > /dev/null 2>> /denied.out || echo denied >> /denied.out; done'], (s) => {
      s.linux.resources = { devices: [{ allow: false, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 11, access: 'rwa' }] };
      s.linux.devices = [{ path: '/dev/kmsg', type: 'c', major: 1, minor: 11 }];
      for (const set of ['bounding', 'effective', 'permitted']) s.process.capabilities[set] = [...s.process.capabilities[set], 'CAP_SYSLOG'];
    });
    try {
      const devices = cgroupPathsOf(c.id).devices;
      if (devices) expect(readCg(devices, 'devices.list')).not.toMatch(/^c 1:11 /m);
      for (let i = 0; i < 30; i++) expect(tsoci(['update', '--pids-limit', '30', c.id]).status).toBe(0);
      const out = (f: string) => (fs.existsSync(path.join(c.bundle, 'rootfs', f)) ? fs.readFileSync(path.join(c.bundle, 'rootfs', f), 'utf8') : '');
      expect(out('denied.out')).toBe('');
      expect(out('kmsg.out')).toBe('');
      expect(stateOf(c.id).status).toBe('running');
    } finally {
      cleanup(c);
    }
  });

  test('a stopped container cannot be updated', () => {
    const bundle = makeBundle(testSpec(['true']));
    try {
      const id = uniqueId('upd');
      expect(tsoci(['run', '--keep', '--bundle', bundle, id]).status).toBe(0);
      const r = tsoci(['update', '--pids-limit', '5', id]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('container not running');
    } finally {
      removeBundle(bundle);
    }
  });
});

describe('events', () => {
  test('--stats prints one stats event in runc\'s shape; a stopped container is an error', () => {
    const c = startContainer(['sh', '-c', 'sleep 600 & while true; do sleep 1; done'], (s) => {
      s.linux.resources = { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 20 } };
    });
    try {
      const r = tsoci(['events', '--stats', c.id]);
      expect(r.stderr).toBe('');
      const lines = r.stdout.trim().split('\n');
      expect(lines).toHaveLength(1);
      const ev = JSON.parse(lines[0]);
      expect(ev).toMatchObject({ type: 'stats', id: c.id });
      expect(ev.data.pids.current).toBeGreaterThanOrEqual(2);
      expect(ev.data.pids.limit).toBe(20);
      expect(ev.data.memory.usage.limit).toBe(64 * 1024 * 1024);
      expect(ev.data.memory.usage.usage).toBeGreaterThan(0);
      expect(ev.data.cpu.usage.total).toBeGreaterThan(0);

      // without --stats: one event per interval until the container stops
      const child = spawnSync(TSOCI, ['--root', TEST_ROOT, 'events', '--interval', '100ms', c.id], { encoding: 'utf8', timeout: 700 });
      const evs = child.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      expect(evs.length).toBeGreaterThanOrEqual(2);
      for (const e of evs) expect(e).toMatchObject({ type: 'stats', id: c.id });
      expect(tsoci(['events', '--interval', '0s', c.id]).stderr).toContain('duration interval must be greater than 0');

      tsoci(['kill', c.id, 'KILL']);
      waitFor(() => stateOf(c.id).status === 'stopped');
      expect(tsoci(['events', '--stats', c.id]).stderr).toContain(`container with id ${c.id} is not running`);
    } finally {
      cleanup(c);
    }
  });
});
