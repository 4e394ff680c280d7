import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, stateOf, tsoci, uniqueId, TEST_ROOT } from '../helpers/tsoci';
import { settledDiff, snapshot } from '../helpers/leaks';
import { validateState } from '../../src/spec/validate';

// The project's own conformance tests for every MUST of runtime-spec v1.3.0 runtime.md,
// organised by section, each MUST quoted (briefly) in the test name. CI cannot download
// the upstream runtime-tools suite (see conformance/), so these run in `npm test`.
//
// Already covered elsewhere, not repeated here:
// - lifecycle.test.ts: create leaves process.args unrun until start; start runs it; kill
//   stops it; delete removes the state; kill sends the named signal; concurrent creates
//   of one id (the id MUST be unique).
// - errors.test.ts: create without an id / with an invalid or duplicate id; missing bundle,
//   config.json, rootfs; invalid JSON and schema violations leave nothing behind; start of
//   a running container, delete of a running one, kill of a stopped one: errors with the
//   state unchanged; state/start/kill/delete of unknown ids error.
// - Hooks (runtime.md "Lifecycle" steps 3-5, 7, 9, 13; config.md hooks) have their own tests.

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function waitFor(cond: () => boolean, timeoutMs = 10000): void {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    Atomics.wait(sleeper, 0, 0, 20);
  }
}
const sleepMs = (ms: number) => Atomics.wait(sleeper, 0, 0, ms);

/** What this test left behind (leaks naming the id, bundle or cgroup), other suites may run meanwhile. */
const leftBy = (before: ReturnType<typeof snapshot>, ...mentioning: string[]) => settledDiff(before, TEST_ROOT, { mentioning });

function cgroupDirs(cgroupsPath: string): string[] {
  // every hierarchy (v1 controllers, the unified one) where the container could have a directory
  const found: string[] = [];
  for (const h of fs.readdirSync('/sys/fs/cgroup')) {
    const d = path.join('/sys/fs/cgroup', h, cgroupsPath);
    if (fs.existsSync(d)) found.push(d);
  }
  const top = path.join('/sys/fs/cgroup', cgroupsPath);
  if (fs.existsSync(top)) found.push(top);
  return found;
}

const marker = (bundle: string) => path.join(bundle, 'rootfs/tmp/ran');
/** A process that leaves a marker when (and only when) process.args runs. */
const markingSpec = (overrides: Record<string, unknown> = {}) =>
  testSpec(['sh', '-c', 'echo ran >> /tmp/ran; exec sleep 600'], overrides);

afterEach(() => deleteAll());

describe('runtime.md "State"', () => {
  let bundle: string;
  beforeAll(() => {
    bundle = makeBundle(markingSpec({ annotations: { 'org.example.key': 'value' } }));
  });
  afterAll(() => removeBundle(bundle));

  test('state JSON validates against the state schema in every status (created, running, stopped)', () => {
    const id = uniqueId('st');
    expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
    const seen: string[] = [];
    const check = () => {
      const st = stateOf(id);
      expect(validateState(st)).toEqual([]);
      seen.push(st.status);
      return st;
    };
    check();
    expect(tsoci(['start', id]).status).toBe(0);
    check();
    expect(tsoci(['kill', id, 'KILL']).status).toBe(0);
    waitFor(() => stateOf(id).status === 'stopped');
    check();
    expect(seen).toEqual(['created', 'running', 'stopped']);
  });

  test('"ociVersion", "id", "status", "bundle" (an absolute path) are REQUIRED; "pid" REQUIRED when created or running', () => {
    const id = uniqueId('stf');
    expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
    const created = stateOf(id);
    expect(created.ociVersion).toBe('1.3.0');
    expect(created.id).toBe(id);
    expect(created.status).toBe('created');
    expect(path.isAbsolute(created.bundle)).toBe(true);
    expect(created.bundle).toBe(bundle);
    expect(created.pid).toBeGreaterThan(0);
    // the pid is the container process on the host
    expect(fs.existsSync(`/proc/${created.pid}`)).toBe(true);
    expect(tsoci(['start', id]).status).toBe(0);
    const running = stateOf(id);
    expect(running.pid).toBe(created.pid);
  });

  test('"bundle" is absolute even when create was given a relative bundle path', () => {
    const id = uniqueId('strel');
    const r = tsoci(['create', '--bundle', path.basename(bundle), id], { cwd: path.dirname(bundle) });
    expect(r.stderr).toBe('');
    expect(stateOf(id).bundle).toBe(bundle);
  });

  test('"annotations": the annotations of config.json are in the state', () => {
    const id = uniqueId('stann');
    expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
    expect(stateOf(id).annotations).toEqual({ 'org.example.key': 'value' });
  });
});

describe('runtime.md "Lifecycle"', () => {
  test('step 2: "the user-specified program MUST NOT be run at this time" — only start runs it, exactly once', () => {
    const bundle = makeBundle(markingSpec());
    try {
      const id = uniqueId('once');
      expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
      sleepMs(300);
      expect(fs.existsSync(marker(bundle))).toBe(false);
      expect(tsoci(['start', id]).status).toBe(0);
      waitFor(() => fs.existsSync(marker(bundle)));
      // a second start errors and does not run it again
      expect(tsoci(['start', id]).status).toBe(1);
      sleepMs(200);
      expect(fs.readFileSync(marker(bundle), 'utf8')).toBe('ran\n');
    } finally {
      removeBundle(bundle);
    }
  });

  test('step 2: "Any updates to config.json after this step MUST NOT affect the container"', () => {
    const spec = testSpec(['sh', '-c', 'hostname > /tmp/seen; echo "$WHO" >> /tmp/seen'], { hostname: 'before' });
    spec.process.env.push('WHO=original');
    const bundle = makeBundle(spec);
    try {
      const id = uniqueId('upd');
      expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
      const changed = { ...spec, hostname: 'after', process: { ...spec.process, args: ['sh', '-c', 'echo changed > /tmp/seen'], env: [...spec.process.env, 'WHO=changed'] } };
      fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(changed));
      expect(tsoci(['start', id]).status).toBe(0);
      waitFor(() => stateOf(id).status === 'stopped');
      expect(fs.readFileSync(path.join(bundle, 'rootfs/tmp/seen'), 'utf8')).toBe('before\noriginal\n');
    } finally {
      removeBundle(bundle);
    }
  });

  test('step 2: "If the runtime is unable to create the environment specified in config.json, it MUST generate an error"', () => {
    const spec = markingSpec();
    spec.linux.sysctl = { 'kernel.no_such_sysctl_tsoci': '1' };
    const bundle = makeBundle(spec);
    try {
      const id = uniqueId('env');
      const r = tsoci(['create', '--bundle', bundle, id]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('kernel.no_such_sysctl_tsoci');
      expect(fs.existsSync(marker(bundle))).toBe(false);
    } finally {
      removeBundle(bundle);
    }
  });

  test('step 10-12: after the process exits the container is stopped; "the container MUST be destroyed by undoing the steps performed during create"', () => {
    const cgroupsPath = `/tsoci-spec-test/${uniqueId('cg')}`;
    const bundle = makeBundle(testSpec(['sh', '-c', 'exit 0'], { }));
    const spec = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
    spec.linux.cgroupsPath = cgroupsPath;
    spec.linux.resources = { pids: { limit: 100 } };
    fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
    try {
      const id = uniqueId('undo');
      expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
      expect(cgroupDirs(cgroupsPath).length).toBeGreaterThan(0);
      expect(tsoci(['start', id]).status).toBe(0);
      waitFor(() => stateOf(id).status === 'stopped');
      expect(tsoci(['delete', id]).status).toBe(0);
      expect(cgroupDirs(cgroupsPath)).toEqual([]);
      expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
      // nothing mounted over the rootfs is left in the host's mount table
      const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8');
      expect(mounts).not.toContain(bundle);
    } finally {
      for (const h of fs.readdirSync('/sys/fs/cgroup')) {
        try { fs.rmdirSync(path.join('/sys/fs/cgroup', h, '/tsoci-spec-test')); } catch { /* absent or not empty */ }
      }
      removeBundle(bundle);
    }
  });
});

describe('runtime.md "Errors"', () => {
  test('"generating an error MUST leave the state of the environment as if the operation were never attempted": create that fails late (after cgroups exist) leaves nothing', () => {
    // one level: tsoci, like runc, creates missing parent directories and leaves them
    const cgroupsPath = `/${uniqueId('tsoci-spec-err')}`;
    const spec = markingSpec();
    spec.linux.cgroupsPath = cgroupsPath;
    spec.linux.resources = { pids: { limit: 50 } };
    // the mount fails inside the new namespaces, after the cgroups were made and the init forked
    spec.mounts.push({ destination: '/mnt/bad', type: 'bind', source: '/nonexistent/source/dir', options: ['bind'] });
    const bundle = makeBundle(spec);
    try {
      const id = uniqueId('late');
      const before = snapshot(TEST_ROOT);
      const r = tsoci(['create', '--bundle', bundle, id]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('/nonexistent/source/dir');
      expect(leftBy(before, id, bundle, cgroupsPath)).toEqual([]);
      expect(cgroupDirs(cgroupsPath)).toEqual([]);
      expect(tsoci(['state', id]).stderr).toContain('does not exist');
      // the id is free again
      const ok = makeBundle(markingSpec());
      try {
        expect(tsoci(['create', '--bundle', ok, id]).status).toBe(0);
      } finally {
        tsoci(['delete', '--force', id]);
        removeBundle(ok);
      }
    } finally {
      removeBundle(bundle);
    }
  });

  test('a failed create does not disturb another container that exists', () => {
    const good = makeBundle(markingSpec());
    const bad = makeBundle(testSpec(['/no/such/binary']));
    try {
      const id = uniqueId('keep');
      expect(tsoci(['create', '--bundle', good, id]).status).toBe(0);
      const before = stateOf(id);
      expect(tsoci(['create', '--bundle', bad, uniqueId('bad')]).status).toBe(1);
      expect(stateOf(id)).toEqual(before);
    } finally {
      removeBundle(good);
      removeBundle(bad);
    }
  });
});

describe('runtime.md "Operations"', () => {
  let bundle: string;
  beforeAll(() => {
    bundle = makeBundle(markingSpec());
  });
  afterAll(() => removeBundle(bundle));
  afterEach(() => fs.rmSync(marker(bundle), { force: true }));

  describe('Query State', () => {
    test('"MUST generate an error if it is not provided the ID of a container"', () => {
      const r = tsoci(['state']);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
    });
    test('"Attempting to query a container that does not exist MUST generate an error"', () => {
      const r = tsoci(['state', 'tsoci-spec-missing']);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('does not exist');
    });
  });

  describe('Create', () => {
    test('"MUST generate an error if it is not provided a path to the bundle" (an empty one) "and the container ID"', () => {
      expect(tsoci(['create', '--bundle', bundle]).status).toBe(1);
      const id = uniqueId('nob');
      const r = tsoci(['create', '--bundle', '', id]);
      expect(r.status).toBe(1);
      expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
    });

    test('"All of the properties configured in config.json except for process MUST be applied": namespaces, cgroups and hostname exist at create', () => {
      const cgroupsPath = `/tsoci-spec-create/${uniqueId('cg')}`;
      const spec = markingSpec({ hostname: 'applied-at-create' });
      spec.linux.cgroupsPath = cgroupsPath;
      spec.linux.resources = { pids: { limit: 77 } };
      const b = makeBundle(spec);
      try {
        const id = uniqueId('apply');
        expect(tsoci(['create', '--bundle', b, id]).status).toBe(0);
        const { pid } = stateOf(id);
        for (const ns of ['pid', 'net', 'ipc', 'uts', 'mnt', 'cgroup']) {
          expect(fs.readlinkSync(`/proc/${pid}/ns/${ns}`)).not.toBe(fs.readlinkSync(`/proc/self/ns/${ns}`));
        }
        const pids = cgroupDirs(cgroupsPath).find((d) => fs.existsSync(path.join(d, 'pids.max')));
        expect(pids).toBeDefined();
        expect(fs.readFileSync(path.join(pids!, 'pids.max'), 'utf8').trim()).toBe('77');
        expect(fs.readFileSync(path.join(pids!, 'cgroup.procs'), 'utf8').split('\n')).toContain(String(pid));
        const host = execFileSync('nsenter', ['-t', String(pid), '-u', 'hostname'], { encoding: 'utf8' }).trim();
        expect(host).toBe('applied-at-create');
        expect(fs.existsSync(marker(b))).toBe(false);
        expect(tsoci(['delete', '--force', id]).status).toBe(0);
        expect(cgroupDirs(cgroupsPath)).toEqual([]);
      } finally {
        for (const h of fs.readdirSync('/sys/fs/cgroup')) {
          try { fs.rmdirSync(path.join('/sys/fs/cgroup', h, '/tsoci-spec-create')); } catch { /* absent */ }
        }
        removeBundle(b);
      }
    });

    test('"If the runtime cannot apply a property ... it MUST generate an error and a new container MUST NOT be created" (rlimit above the hard limit)', () => {
      const spec = markingSpec();
      // no CAP_SYS_RESOURCE on these hosts; with it the kernel maximum still bounds nofile
      spec.process.rlimits = [{ type: 'RLIMIT_NOFILE', hard: 1 << 30, soft: 1 << 30 }];
      const b = makeBundle(spec);
      try {
        const id = uniqueId('rlim');
        const before = snapshot(TEST_ROOT);
        const r = tsoci(['create', '--bundle', b, id]);
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/RLIMIT_NOFILE|rlimit/i);
        expect(leftBy(before, id, b)).toEqual([]);
      } finally {
        removeBundle(b);
      }
    });

    test('a config without "process" cannot be started: tsoci refuses it at create (nothing is created)', () => {
      // runtime.md: start "MUST generate an error if process was not set"; tsoci reports it one step earlier
      const spec = markingSpec();
      delete spec.process;
      const b = makeBundle(spec);
      try {
        const id = uniqueId('noproc');
        const before = snapshot(TEST_ROOT);
        const r = tsoci(['create', '--bundle', b, id]);
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/process/);
        expect(leftBy(before, id, b)).toEqual([]);
      } finally {
        removeBundle(b);
      }
    });
  });

  describe('Start', () => {
    test('"MUST generate an error if it is not provided the container ID"', () => {
      expect(tsoci(['start']).status).toBe(1);
    });

    test('"Attempting to start a container that is not created MUST have no effect on the container and MUST generate an error" (stopped)', () => {
      const id = uniqueId('startstop');
      expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
      expect(tsoci(['kill', id, 'KILL']).status).toBe(0);
      waitFor(() => stateOf(id).status === 'stopped');
      const before = stateOf(id);
      const r = tsoci(['start', id]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('stopped');
      sleepMs(200);
      expect(stateOf(id)).toEqual(before);
      expect(fs.existsSync(marker(bundle))).toBe(false);
    });

    test('"... MUST have no effect ... and MUST generate an error" (paused)', () => {
      const id = uniqueId('startpaused');
      expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
      expect(tsoci(['start', id]).status).toBe(0);
      waitFor(() => fs.existsSync(marker(bundle)));
      expect(tsoci(['pause', id]).status).toBe(0);
      expect(stateOf(id).status).toBe('paused');
      const r = tsoci(['start', id]);
      expect(r.status).toBe(1);
      expect(stateOf(id).status).toBe('paused');
      expect(tsoci(['resume', id]).status).toBe(0);
      expect(stateOf(id).status).toBe('running');
      expect(fs.readFileSync(marker(bundle), 'utf8')).toBe('ran\n');
    });

    test('"This operation MUST run the user-specified program as specified by process"', () => {
      const id = uniqueId('startrun');
      expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
      const { pid } = stateOf(id);
      expect(tsoci(['start', id]).status).toBe(0);
      waitFor(() => fs.existsSync(marker(bundle)));
      // the init became the process (exec'd in place: same pid, args as configured)
      waitFor(() => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8') === 'sleep\u0000600\u0000');
    });
  });

  describe('Kill', () => {
    test('"MUST generate an error if it is not provided the container ID"', () => {
      expect(tsoci(['kill']).status).toBe(1);
    });

    test('"MUST send the specified signal to the container process" — also to a created container', () => {
      const id = uniqueId('killcreated');
      expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
      expect(tsoci(['kill', id, 'KILL']).status).toBe(0);
      waitFor(() => stateOf(id).status === 'stopped');
      expect(fs.existsSync(marker(bundle))).toBe(false);
    });

    test('"Attempting to send a signal to a container that is neither created nor running MUST have no effect on the container and MUST generate an error" (stopped)', () => {
      const id = uniqueId('killstopped');
      expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
      expect(tsoci(['start', id]).status).toBe(0);
      expect(tsoci(['kill', id, 'KILL']).status).toBe(0);
      waitFor(() => stateOf(id).status === 'stopped');
      const before = stateOf(id);
      for (const sig of ['KILL', 'TERM', 'USR1']) {
        const r = tsoci(['kill', id, sig]);
        expect(r.status).toBe(1);
        expect(r.stderr).toContain('container not running');
      }
      expect(stateOf(id)).toEqual(before);
      // and it can still be deleted normally
      expect(tsoci(['delete', id]).status).toBe(0);
    });
  });

  describe('Delete', () => {
    test('"MUST generate an error if it is not provided the container ID"', () => {
      expect(tsoci(['delete']).status).toBe(1);
    });

    test('"Attempting to delete a container that is not stopped MUST have no effect on the container and MUST generate an error" (paused)', () => {
      const id = uniqueId('delpaused');
      expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
      expect(tsoci(['start', id]).status).toBe(0);
      expect(tsoci(['pause', id]).status).toBe(0);
      const before = stateOf(id);
      const r = tsoci(['delete', id]);
      expect(r.status).toBe(1);
      expect(stateOf(id)).toEqual(before);
      expect(fs.existsSync(`/proc/${before.pid}`)).toBe(true);
      expect(tsoci(['resume', id]).status).toBe(0);
      expect(stateOf(id).status).toBe('running');
      // runc-compatible note: `delete` of a *created* container succeeds in tsoci, as in runc
      // (see lifecycle.test.ts); callers rely on it after a failed start.
    });

    test('"Deleting a container MUST delete the resources that were created during the create step"', () => {
      const id = uniqueId('delres');
      expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
      const { pid } = stateOf(id);
      expect(tsoci(['start', id]).status).toBe(0);
      expect(tsoci(['kill', id, 'KILL']).status).toBe(0);
      waitFor(() => stateOf(id).status === 'stopped');
      expect(tsoci(['delete', id]).status).toBe(0);
      // the killed init is reaped by the host's PID 1 (it was reparented): wait for that
      waitFor(() => !fs.existsSync(`/proc/${pid}`));
      expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
      expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(path.join(bundle, 'rootfs'));
    });

    test('"resources associated with the container, but not created by this container, MUST NOT be deleted": a joined netns and bind sources survive', () => {
      const netns = uniqueId('tsoci-specns');
      execFileSync('ip', ['netns', 'add', netns]);
      const spec = markingSpec();
      spec.linux.namespaces = spec.linux.namespaces.map((n: any) => (n.type === 'network' ? { type: 'network', path: `/run/netns/${netns}` } : n));
      spec.mounts.push({ destination: '/data', type: 'bind', source: 'data', options: ['rbind'] });
      const b = makeBundle(spec);
      fs.mkdirSync(path.join(b, 'data'));
      fs.writeFileSync(path.join(b, 'data/keep'), 'mine\n');
      try {
        const id = uniqueId('delnot');
        expect(tsoci(['run', '-d', '--bundle', b, id]).status).toBe(0);
        expect(tsoci(['delete', '--force', id]).status).toBe(0);
        expect(fs.existsSync(`/run/netns/${netns}`)).toBe(true);
        expect(execFileSync('ip', ['netns', 'exec', netns, 'true']).length).toBe(0);
        expect(fs.readFileSync(path.join(b, 'data/keep'), 'utf8')).toBe('mine\n');
        expect(fs.readFileSync(path.join(b, 'config.json'), 'utf8')).toBe(JSON.stringify(spec, null, 2));
      } finally {
        execFileSync('ip', ['netns', 'delete', netns]);
        removeBundle(b);
      }
    });

    test('"Once a container is deleted its ID MAY be used by a subsequent container"', () => {
      const id = uniqueId('reuse');
      for (let i = 0; i < 2; i++) {
        expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
        expect(tsoci(['delete', '--force', id]).status).toBe(0);
      }
    });
  });
});

describe('config-linux.md checked from the inside (test/fixtures/inside/config-linux-check.sh)', () => {
  // only what container.test.ts does not already check from the inside
  test('sysctl (ipc, uts), rlimits, devices (block, fifo), devices cgroup, resources, cgroup ns, masked/readonly paths, rootfs propagation, hostname', () => {
    const spec = testSpec(['sh', '/config-linux-check.sh'], { hostname: 'checker' });
    spec.process.capabilities = Object.fromEntries(['bounding', 'effective', 'permitted'].map((set) =>
      [set, ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_MKNOD', 'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER']]));
    spec.process.rlimits = [
      { type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 },
      { type: 'RLIMIT_CORE', hard: 1024, soft: 512 },
      { type: 'RLIMIT_NPROC', hard: 1234, soft: 1234 },
    ];
    spec.mounts.push({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] });
    spec.linux.sysctl = { 'kernel.msgmax': '12345', 'kernel.domainname': 'sysctl.example' };
    spec.linux.devices = [
      { path: '/dev/loopx', type: 'b', major: 7, minor: 7, fileMode: 0o640, uid: 0, gid: 6 },
      { path: '/dev/fifox', type: 'p', fileMode: 0o600, uid: 0, gid: 0 },
    ];
    spec.linux.cgroupsPath = `/${uniqueId('tsoci-spec-inside')}`;
    spec.linux.resources = {
      devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }],
      pids: { limit: 99 },
      memory: { limit: 64 * 1024 * 1024 },
    };
    spec.linux.maskedPaths = ['/proc/timer_list', '/sys/firmware', '/proc/does-not-exist'];
    spec.linux.readonlyPaths = ['/proc/bus', '/proc/sys'];
    spec.linux.rootfsPropagation = 'shared';
    const bundle = makeBundle(spec);
    try {
      fs.copyFileSync(path.join(__dirname, '../fixtures/inside/config-linux-check.sh'), path.join(bundle, 'rootfs/config-linux-check.sh'));
      const r = tsoci(['run', '--bundle', bundle, uniqueId('inside')]);
      const failed = r.stdout.split('\n').filter((l) => l.startsWith('not ok'));
      expect(failed).toEqual([]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout.split('\n').filter((l) => l.startsWith('ok ')).length).toBe(21);
    } finally {
      removeBundle(bundle);
    }
  });
});

describe('config.md mounts with a user namespace', () => {
  test('a bind source under a directory the mapped root cannot search is still mounted (opened by the host side)', () => {
    const spec = testSpec(['sh', '-c', 'cat /data/secret; id -u']);
    spec.linux.namespaces.push({ type: 'user' });
    spec.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    spec.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    const bundle = makeBundle(spec);
    fs.chmodSync(bundle, 0o755);
    // like podman's run root: 0700, owned by the host's root
    const priv = fs.mkdtempSync(path.join(bundle, 'private-'));
    fs.chmodSync(priv, 0o700);
    fs.mkdirSync(path.join(priv, 'data'));
    fs.writeFileSync(path.join(priv, 'data/secret'), 'reached\n');
    fs.mkdirSync(path.join(bundle, 'rootfs/data')); // the mapped root cannot create it in a host-owned rootfs
    fs.chmodSync(path.join(priv, 'data/secret'), 0o644);
    spec.mounts.push({ destination: '/data', type: 'bind', source: path.join(priv, 'data'), options: ['rbind', 'ro'] });
    fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
    try {
      const r = tsoci(['run', '--bundle', bundle, uniqueId('usrbind')]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('reached\n0\n');
      expect(r.status).toBe(0);
    } finally {
      removeBundle(bundle);
    }
  });
});
