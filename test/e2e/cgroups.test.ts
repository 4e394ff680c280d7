import * as fs from 'fs';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, stateOf, tsoci, tsociAsync, uniqueId, TEST_ROOT } from '../helpers/tsoci';
import { cgroupPathsOf, dirsAt, hostHierarchies, ownCgroups, readCg, removeCgroupParents, waitFor, waitForAsync } from '../helpers/cgroups';

// Cgroups end to end on this host's real cgroupfs (v1 hybrid: v1 controllers + cgroup2 at
// /sys/fs/cgroup/unified): where the directories land, what the container sees, limits in effect.

const CGROUP_MOUNT = { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] };
const withoutNs = (spec: Record<string, any>, type: string) => {
  spec.linux.namespaces = spec.linux.namespaces.filter((n: { type: string }) => n.type !== type);
};

/** Runs `script` in a fresh bundle (foreground `run`), with `edit` applied to the spec. */
function runScript(script: string, edit: (spec: Record<string, any>) => void = () => undefined, extra: string[] = []) {
  const spec = testSpec(['sh', '-c', script]);
  edit(spec);
  const bundle = makeBundle(spec);
  try {
    const id = uniqueId('cg');
    return { ...tsoci(['run', ...extra, '--bundle', bundle, id]), id };
  } finally {
    removeBundle(bundle);
  }
}

afterEach(() => deleteAll());

describe('the container is in its cgroups before it runs anything', () => {
  test('a created (not started) init is already in every hierarchy, and the first thing it runs sees the cgroup', () => {
    const rel = `/tsoci-e2e-join/${uniqueId('j')}`;
    const spec = testSpec(['cat', '/proc/self/cgroup']);
    withoutNs(spec, 'cgroup');
    spec.linux.cgroupsPath = rel;
    const bundle = makeBundle(spec);
    const id = uniqueId('join');
    try {
      // the init waits on the exec fifo: it has not run process.args yet
      expect(tsoci(['create', '--bundle', bundle, id]).stderr).toBe('');
      const { pid } = stateOf(id);
      const cg = ownCgroups(pid);
      const { v1, unified } = hostHierarchies();
      for (const h of v1) expect([h.controllers.join(','), cg[h.controllers[0]]]).toEqual([h.controllers.join(','), rel]);
      if (unified) expect(cg['']).toBe(rel);
      // every directory lists the init
      const paths = cgroupPathsOf(id);
      for (const dir of new Set(Object.values(paths))) expect(readCg(dir, 'cgroup.procs').split('\n')).toContain(String(pid));
      tsoci(['delete', '--force', id]);

      // process.args itself reads /proc/self/cgroup: every line names the container's cgroup
      const r = tsoci(['run', '--bundle', bundle, uniqueId('join')]);
      expect(r.status).toBe(0);
      const seen: Record<string, string> = {};
      for (const l of r.stdout.trim().split('\n')) {
        const m = /^\d+:([^:]*):(.*)$/.exec(l);
        if (m) for (const c of m[1].split(',')) seen[c] = m[2];
      }
      // every mounted hierarchy (an unmounted one, like hugetlb here, stays at "/")
      for (const h of v1) expect([h.controllers[0], seen[h.controllers[0]]]).toEqual([h.controllers[0], rel]);
      if (unified) expect(seen['']).toBe(rel);
    } finally {
      removeBundle(bundle);
      removeCgroupParents(['/tsoci-e2e-join']);
    }
  });

  test('with a cgroup namespace /proc/self/cgroup shows "/" in every hierarchy', () => {
    const r = runScript('cat /proc/self/cgroup');
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(l).toMatch(/^\d+:[^:]*:\/$/);
  });
});

describe('a "cgroup" mount (runc default spec) on a v1 host', () => {
  const { v1 } = hostHierarchies();
  const names = v1.map((h) => path.basename(h.mountPoint)).sort();
  const script = [
    'grep " /sys/fs/cgroup" /proc/self/mountinfo | cut -d" " -f5,6,9,10 > /tmp/mounts',
    'echo "ls: $(ls /sys/fs/cgroup | tr "\\n" " ")"',
    'echo "pids.max: $(cat /sys/fs/cgroup/pids/pids.max)"',
    'echo "memory.limit: $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"',
    'echo "procs: $(cat /sys/fs/cgroup/pids/cgroup.procs | tr "\\n" " ")"',
    'echo "sub: $(ls -d /sys/fs/cgroup/pids/*/ 2>/dev/null | wc -l)"',
    'if (echo 5 > /sys/fs/cgroup/pids/pids.max) 2>/dev/null; then echo "write: ok"; else echo "write: refused"; fi',
    'cat /tmp/mounts',
  ].join('; ');
  const edit = (s: Record<string, any>) => {
    s.mounts.push(CGROUP_MOUNT);
    s.linux.resources = { pids: { limit: 42 }, memory: { limit: 64 * 1024 * 1024 } };
  };

  function check(out: string): string[] {
    expect(/^ls: (.*)$/m.exec(out)?.[1].trim().split(' ').sort()).toEqual(names);
    expect(out).toContain('pids.max: 42\n');
    expect(out).toContain(`memory.limit: ${64 * 1024 * 1024}\n`);
    // the container's own directory: only its own processes (PIDs of its namespace), no children dirs
    expect(/^procs: (.*)$/m.exec(out)?.[1].trim().split(' ').map(Number).every((p) => p > 0 && p < 100)).toBe(true);
    expect(out).toContain('sub: 0\n');
    expect(out).toContain('write: refused\n');
    return out.split('\n').filter((l) => l.startsWith('/sys/fs/cgroup'));
  }

  test('with a cgroup namespace: a tmpfs with a read-only cgroup mount per hierarchy, rooted at the container', () => {
    const r = runScript(script, edit);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const mounts = check(r.stdout);
    expect(mounts).toContainEqual(expect.stringMatching(/^\/sys\/fs\/cgroup \S+ tmpfs /));
    for (const n of names) expect(mounts).toContainEqual(expect.stringMatching(new RegExp(`^/sys/fs/cgroup/${n} ro,\\S* cgroup `)));
  });

  test('without a cgroup namespace: a tmpfs with a read-only bind of the container\'s own directory per hierarchy', () => {
    const r = runScript(script, (s) => {
      edit(s);
      withoutNs(s, 'cgroup');
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const mounts = check(r.stdout);
    expect(mounts).toContainEqual(expect.stringMatching(/^\/sys\/fs\/cgroup \S+ tmpfs /));
    for (const n of names) expect(mounts).toContainEqual(expect.stringMatching(new RegExp(`^/sys/fs/cgroup/${n} ro,\\S* cgroup `)));
  });
});

describe('cgroupsPath: absolute, relative, missing', () => {
  test('absolute: <mount point>/<path> in every hierarchy and the unified one; delete removes the leaves', () => {
    const parent = `/tsoci-e2e-abs-${process.pid}`;
    const rel = `${parent}/${uniqueId('a')}`;
    const spec = testSpec(['sleep', '600'], {});
    spec.linux.cgroupsPath = rel;
    const bundle = makeBundle(spec);
    const id = uniqueId('abs');
    try {
      expect(tsoci(['create', '--bundle', bundle, id]).stderr).toBe('');
      const { v1, unified } = hostHierarchies();
      const want = [...v1.map((h) => path.join(h.mountPoint, rel)), ...(unified ? [path.join(unified, rel)] : [])].sort();
      expect(dirsAt(rel).sort()).toEqual(want);
      expect([...new Set(Object.values(cgroupPathsOf(id)))].sort()).toEqual(want);
      expect(tsoci(['delete', '--force', id]).status).toBe(0);
      expect(dirsAt(rel)).toEqual([]);
      // like runc, the parents are left (they may be shared)
      expect(dirsAt(parent).length).toBeGreaterThan(0);
    } finally {
      removeBundle(bundle);
      removeCgroupParents([parent]);
    }
  });

  test('relative: below the runtime\'s own cgroup in each hierarchy; delete removes it', () => {
    const relParent = `tsoci-e2e-rel-${process.pid}`;
    const rel = `${relParent}/${uniqueId('r')}`;
    const spec = testSpec(['sleep', '600']);
    spec.linux.cgroupsPath = rel;
    const bundle = makeBundle(spec);
    const id = uniqueId('rel');
    const own = ownCgroups(); // tsoci is our child: it starts in our cgroups
    try {
      expect(tsoci(['create', '--bundle', bundle, id]).stderr).toBe('');
      const { v1, unified } = hostHierarchies();
      const want = [
        ...v1.map((h) => path.join(h.mountPoint, own[h.controllers[0]], rel)),
        ...(unified ? [path.join(unified, own[''], rel)] : []),
      ].sort();
      expect([...new Set(Object.values(cgroupPathsOf(id)))].sort()).toEqual(want);
      for (const d of want) expect(fs.existsSync(d)).toBe(true);
      expect(tsoci(['delete', '--force', id]).status).toBe(0);
      for (const d of want) expect(fs.existsSync(d)).toBe(false);
    } finally {
      removeBundle(bundle);
      const { v1, unified } = hostHierarchies();
      for (const p of [...v1.map((h) => path.join(h.mountPoint, own[h.controllers[0]], relParent)), ...(unified ? [path.join(unified, own[''], relParent)] : [])]) {
        try {
          fs.rmdirSync(p);
        } catch {
          /* absent */
        }
      }
    }
  });

  test('missing: "<own cgroup>/<id>" (runc\'s rule); delete removes it', () => {
    const bundle = makeBundle(testSpec(['sleep', '600']));
    const id = uniqueId('none');
    const own = ownCgroups();
    try {
      expect(tsoci(['create', '--bundle', bundle, id]).stderr).toBe('');
      const { v1 } = hostHierarchies();
      const dirs = [...new Set(Object.values(cgroupPathsOf(id)))];
      for (const h of v1) expect(dirs).toContain(path.join(h.mountPoint, own[h.controllers[0]], id));
      expect(tsoci(['delete', '--force', id]).status).toBe(0);
      for (const d of dirs) expect(fs.existsSync(d)).toBe(false);
    } finally {
      removeBundle(bundle);
    }
  });
});

describe('a failed create removes the cgroups it made', () => {
  const cases: [string, (s: Record<string, any>) => void, RegExp][] = [
    ['cpu shares out of range', (s) => (s.linux.resources = { cpu: { shares: 1 } }), /cpu-shares/],
    ['memory limit below what the kernel accepts', (s) => (s.linux.resources = { memory: { limit: 4096, swap: 2048 } }), /memory|memsw|invalid argument/],
    ['a missing executable', (s) => (s.process.args = ['/bin/does-not-exist']), /no such file or directory|executable file not found/],
  ];
  test.each(cases)('%s', (_name, edit, message) => {
    const parent = `/tsoci-e2e-fail-${process.pid}`;
    const rel = `${parent}/${uniqueId('f')}`;
    const spec = testSpec(['sleep', '600']);
    edit(spec);
    spec.linux.cgroupsPath = rel;
    const bundle = makeBundle(spec);
    const id = uniqueId('fail');
    try {
      const r = tsoci(['create', '--bundle', bundle, id]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(dirsAt(rel)).toEqual([]);
      expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
    } finally {
      removeBundle(bundle);
      removeCgroupParents([parent]);
    }
  });

  test('without a cgroupsPath as well (the default <own>/<id> directories)', () => {
    const spec = testSpec(['sleep', '600']);
    spec.linux.resources = { cpu: { shares: 1 } };
    const bundle = makeBundle(spec);
    const id = uniqueId('faild');
    const own = ownCgroups();
    try {
      const r = tsoci(['create', '--bundle', bundle, id]);
      expect(r.status).toBe(1);
      for (const h of hostHierarchies().v1) expect(fs.existsSync(path.join(h.mountPoint, own[h.controllers[0]], id))).toBe(false);
    } finally {
      removeBundle(bundle);
    }
  });
});

describe('limits in effect', () => {
  test('pids.limit 10 stops a fork bomb: some forks fail with EAGAIN', () => {
    const r = runScript(
      'cat /sys/fs/cgroup/pids/pids.max; i=0; while [ $i -lt 30 ]; do sleep 3 & i=$((i+1)); done; echo forked; wait',
      (s) => {
        s.mounts.push(CGROUP_MOUNT);
        s.linux.resources = { pids: { limit: 10 } };
      },
    );
    expect(r.stdout.split('\n')[0]).toBe('10');
    expect(r.stderr).toMatch(/can't fork|Resource temporarily unavailable/);
  });

  // runc's cgroups.bats "pids.limit=0 means 1": runc sets the limits once the container's
  // process is the one left (procHooks), so a limit below the set-up's own forks works
  test.each([0, 1])('pids.limit %d: the container starts (pids.max 1 once it runs); an exec does not fit', (limit) => {
    const spec = testSpec(['sh', '-c', 'read max < /sys/fs/cgroup/pids/pids.max; echo "max $max" > /out; exec sleep 600']);
    spec.mounts.push(CGROUP_MOUNT);
    spec.linux.resources = { pids: { limit } };
    const bundle = makeBundle(spec);
    const id = uniqueId('pids0');
    try {
      const r = tsoci(['run', '-d', '--bundle', bundle, id]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(readCg(cgroupPathsOf(id).pids, 'pids.max')).toBe('1');
      waitFor(() => fs.existsSync(path.join(bundle, 'rootfs/out')) && fs.readFileSync(path.join(bundle, 'rootfs/out'), 'utf8').includes('\n'));
      expect(fs.readFileSync(path.join(bundle, 'rootfs/out'), 'utf8')).toBe('max 1\n');
      expect(stateOf(id).status).toBe('running');
      // a second process does not fit (runc's exec fails the same way)
      expect(tsoci(['exec', id, 'true']).status).not.toBe(0);
    } finally {
      tsoci(['delete', '--force', id]);
      removeBundle(bundle);
    }
  });

  test('a memory limit (no swap) makes the OOM killer kill the process: exit 137, events and memory.oom_control report it', async () => {
    const spec = testSpec(['sh', '-c', 'sleep 1; x=0123456789abcdef; while true; do x=$x$x; done']);
    spec.linux.resources = { memory: { limit: 16 * 1024 * 1024, swap: 16 * 1024 * 1024 } };
    const bundle = makeBundle(spec);
    const id = uniqueId('oom');
    try {
      const run = tsociAsync(['run', '--keep', '--bundle', bundle, id]);
      await waitForAsync(() => tsoci(['state', id]).stdout.includes('"running"'), 10000, 'running');
      const events = tsociAsync(['events', '--interval', '200ms', id]);
      const r = await run;
      expect(r.status).toBe(137);
      const ev = await events;
      expect(ev.stderr).toBe('');
      expect(ev.status).toBe(0);
      const lines = ev.stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(lines).toContainEqual({ type: 'oom', id });
      const stats = lines.find((l) => l.type === 'stats');
      if (stats) expect(stats.data.memory.usage.limit).toBe(16 * 1024 * 1024);
      const mem = cgroupPathsOf(id).memory;
      expect(readCg(mem, 'memory.oom_control')).toMatch(/^oom_kill [1-9]\d*$/m);
      expect(Number(readCg(mem, 'memory.max_usage_in_bytes'))).toBeGreaterThan(15 * 1024 * 1024);
      expect(tsoci(['delete', id]).status).toBe(0);
      expect(fs.existsSync(mem)).toBe(false);
    } finally {
      removeBundle(bundle);
    }
  });
});

describe('kill --all and delete --force without a PID namespace', () => {
  const spec = () => {
    const s = testSpec(['sh', '-c', 'sleep 600 & sleep 601 & while true; do sleep 1; done']);
    withoutNs(s, 'pid');
    return s;
  };
  const pidsOf = (id: string): number[] => JSON.parse(tsoci(['ps', '--format', 'json', id]).stdout);
  const alive = (pid: number) => {
    try {
      const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return !/^\d+ \(.*\) Z/.test(st);
    } catch {
      return false;
    }
  };

  test('kill --all signals every process in the cgroup', () => {
    const bundle = makeBundle(spec());
    const id = uniqueId('killall');
    try {
      expect(tsoci(['run', '-d', '--bundle', bundle, id]).status).toBe(0);
      waitFor(() => pidsOf(id).length >= 3, 10000, 'three processes');
      const pids = pidsOf(id);
      expect(tsoci(['kill', '--all', id, 'KILL']).stderr).toBe('');
      waitFor(() => pids.every((p) => !alive(p)), 10000, 'every process gone');
      waitFor(() => stateOf(id).status === 'stopped');
      expect(tsoci(['delete', id]).status).toBe(0);
    } finally {
      removeBundle(bundle);
    }
  });

  test('delete --force kills what the init left in the cgroup and removes the cgroup', () => {
    const bundle = makeBundle(spec());
    const id = uniqueId('delf');
    try {
      expect(tsoci(['run', '-d', '--bundle', bundle, id]).status).toBe(0);
      waitFor(() => pidsOf(id).length >= 3, 10000, 'three processes');
      const pids = pidsOf(id);
      const dirs = [...new Set(Object.values(cgroupPathsOf(id)))];
      // the init dies first: its children are left in the cgroup
      process.kill(stateOf(id).pid, 'SIGKILL');
      waitFor(() => stateOf(id).status === 'stopped');
      expect(pids.slice(1).some(alive)).toBe(true);
      expect(tsoci(['delete', '--force', id]).status).toBe(0);
      waitFor(() => pids.every((p) => !alive(p)), 10000, 'every process gone');
      for (const d of dirs) expect(fs.existsSync(d)).toBe(false);
    } finally {
      removeBundle(bundle);
    }
  });
});
