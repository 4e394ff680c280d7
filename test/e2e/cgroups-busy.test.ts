import * as fs from 'fs';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, tsoci, uniqueId, TEST_ROOT } from '../helpers/tsoci';
import { dirsAt, hostHierarchies, removeCgroupParents } from '../helpers/cgroups';

// runc ≥ 1.2 (and runc's integration suite, cgroups.bats) refuses to create a container in a
// cgroup that already holds processes or is frozen: "container's cgroup is not empty: N
// process(es) found" / "container's cgroup unexpectedly frozen". The refusal comes before
// anything is made: no state, and the pre-existing cgroup is left as it was.

afterEach(() => deleteAll());

function specIn(rel: string) {
  const spec = testSpec(['sleep', '600'], {});
  spec.linux.cgroupsPath = rel;
  return spec;
}

test('a second container in the first one\'s cgroup is refused; the first keeps running in it', () => {
  const parent = `/tsoci-e2e-busy-${process.pid}`;
  const rel = `${parent}/${uniqueId('b')}`;
  const bundle = makeBundle(specIn(rel));
  const first = uniqueId('busy1');
  const second = uniqueId('busy2');
  try {
    expect(tsoci(['run', '-d', '--bundle', bundle, first]).status).toBe(0);
    for (const verb of ['run', 'create']) {
      const r = tsoci([verb, ...(verb === 'run' ? ['-d'] : []), '--bundle', bundle, second]);
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/container's cgroup is not empty: 1 process\(es\) found/);
      expect(fs.existsSync(path.join(TEST_ROOT, second))).toBe(false);
    }
    expect(JSON.parse(tsoci(['state', first]).stdout).status).toBe('running');
    expect(dirsAt(rel).length).toBeGreaterThan(0);
    expect(tsoci(['delete', '--force', first]).status).toBe(0);
    expect(dirsAt(rel)).toEqual([]);
  } finally {
    removeBundle(bundle);
    removeCgroupParents([parent]);
  }
});

test('a frozen cgroup is refused (no hang), and left as it was', () => {
  const { v1, unified } = hostHierarchies();
  const freezer = v1.find((h) => h.controllers.includes('freezer'));
  const rel = `/${uniqueId('tsoci-e2e-frozen')}`;
  // v1: the freezer hierarchy's freezer.state; pure v2: cgroup.freeze
  const dir = freezer ? path.join(freezer.mountPoint, rel) : unified ? path.join(unified, rel) : undefined;
  if (!dir) {
    console.log('skipped: no freezer hierarchy and no cgroup2 mount on this host');
    return;
  }
  fs.mkdirSync(dir);
  const [file, frozen, thawed] = freezer ? ['freezer.state', 'FROZEN', 'THAWED'] : ['cgroup.freeze', '1', '0'];
  fs.writeFileSync(path.join(dir, file), frozen);
  const bundle = makeBundle(specIn(rel));
  const id = uniqueId('frozen');
  try {
    for (const verb of ['create', 'run']) {
      const r = tsoci([verb, ...(verb === 'run' ? ['-d'] : []), '--bundle', bundle, id], { timeoutMs: 20000 });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/container's cgroup unexpectedly frozen/);
      expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
    }
    expect(fs.readFileSync(path.join(dir, file), 'utf8').trim()).toBe(frozen);
  } finally {
    removeBundle(bundle);
    fs.writeFileSync(path.join(dir, file), thawed);
    removeCgroupParents([rel]);
  }
});
