import * as fs from 'fs';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { cgroupHost } from '../../src/cgroups/mode';
import { deleteAll, stateOf, tsoci, uniqueId, TEST_ROOT } from '../helpers/tsoci';

// exec as runc's exec.bats pins it down: status 255 and "exec failed: …" when the process
// could not be run, the execve error text, --user forms, --cgroup, --debug lines.

const SCRIPT = '#!/mmnnttbb foo bar\nsh\n';

afterAll(() => deleteAll());

/** pids of tsoci-init processes whose command line or cgroup names `id` (none may be left). */
function initsOf(id: string): string[] {
  const out: string[] = [];
  for (const p of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const comm = fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim();
      if (comm === 'tsoci-init' && fs.readFileSync(`/proc/${p}/cgroup`, 'utf8').includes(id)) out.push(p);
    } catch {
      /* gone */
    }
  }
  return out;
}

describe('exec failures', () => {
  let bundle: string;
  let id: string;
  beforeAll(() => {
    bundle = makeBundle(testSpec(['sleep', '600']));
    fs.writeFileSync(path.join(bundle, 'rootfs/run.sh'), SCRIPT, { mode: 0o755 });
    id = uniqueId('xfail');
    const r = tsoci(['run', '-d', '--bundle', bundle, id]);
    if (r.status !== 0) throw new Error(`run -d failed: ${r.stderr}`);
  });
  afterAll(() => {
    tsoci(['delete', '-f', id]);
    removeBundle(bundle);
  });

  test("the process's own status passes through (1, 42)", () => {
    expect(tsoci(['exec', id, 'false']).status).toBe(1);
    expect(tsoci(['exec', id, 'sh', '-c', 'exit 42']).status).toBe(42);
  });

  test('exec that fails before the process runs: status 255, one line "exec failed: …"', () => {
    const cases: [string[], RegExp][] = [
      [['exec', '--pid-file', '/non-existent/directory', id, 'true'], /^exec failed: write pid file \/non-existent\/directory: no such file or directory/],
      [['exec', id, 'no-such-binary'], /^exec failed: exec: "no-such-binary": executable file not found in \$PATH$/],
      [['exec', id, '/no/such'], /^exec failed: exec: "\/no\/such": stat \/no\/such: no such file or directory$/],
      [['exec', id, '/etc/passwd'], /^exec failed: exec: "\/etc\/passwd": permission denied$/],
      [['exec', 'no_such_container', 'true'], /^exec failed: container "no_such_container" does not exist$/],
      [['exec', '--user', 'abc', id, 'true'], /^exec failed: bad uid: strconv.Atoi: parsing "abc": invalid syntax$/],
      [['exec', '--user', '1000:', id, 'true'], /^exec failed: bad gid: strconv.Atoi: parsing "": invalid syntax$/],
      [['exec', '--user', '-1', id, 'true'], /^exec failed: bad uid/],
    ];
    for (const [args, message] of cases) {
      const r = tsoci(args);
      expect({ args, status: r.status }).toEqual({ args, status: 255 });
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(message);
    }
    expect(initsOf(id)).toEqual([]);
  });

  test('an execve that fails after the checks (bad #! interpreter): runc\'s "exec /run.sh: no such file or directory", 255', () => {
    const r = tsoci(['exec', id, '/run.sh']);
    expect(r.status).toBe(255);
    expect(r.stderr).toBe('exec /run.sh: no such file or directory\n');
  });

  test('--user forms runc accepts: uid, uid:gid, +uid', () => {
    expect(tsoci(['exec', '--user', '1000:1000', id, 'id']).stdout).toMatch(/^uid=1000 gid=1000/);
    expect(tsoci(['exec', '-u', '1000', id, 'id', '-u']).stdout).toBe('1000\n');
    expect(tsoci(['exec', '--user=+7:+8', id, 'id']).stdout).toMatch(/^uid=7 gid=8/);
  });

  test('--debug: runc-style level=debug lines on stderr, or in --log (text and json), never on stderr then', () => {
    const r = tsoci(['--debug', 'exec', id, 'true']);
    expect(r.status).toBe(0);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const l of lines) expect(l).toMatch(/^time="[^"]+" level=debug msg=".*"$/);
    expect(r.stderr).toContain('nsexec container setup');
    expect(r.stderr).toContain('child process in init()');
    expect(r.stderr).toContain('setns_init: about to exec');
    for (const format of ['text', 'json']) {
      const log = path.join(bundle, `debug-${format}.log`);
      const l = tsoci(['--debug', '--log', log, '--log-format', format, 'exec', id, 'true']);
      expect(l).toMatchObject({ status: 0, stderr: '' });
      const text = fs.readFileSync(log, 'utf8');
      if (format === 'json') {
        const entries = text.trim().split('\n').map((x) => JSON.parse(x));
        expect(entries.every((e) => e.level === 'debug' && typeof e.time === 'string')).toBe(true);
        expect(entries.map((e) => e.msg)).toContain('setns_init: about to exec');
      } else {
        expect(text).toContain('level=debug');
        expect(text).toContain('setns_init: about to exec');
      }
    }
  });
});

describe('run: the entrypoint cannot be run', () => {
  test('missing, not executable, or a failing execve: runc\'s texts; nothing left', () => {
    const spec = testSpec(['/run.sh']);
    const bundle = makeBundle(spec);
    fs.writeFileSync(path.join(bundle, 'rootfs/run.sh'), SCRIPT, { mode: 0o755 });
    try {
      const r = tsoci(['run', '--bundle', bundle, uniqueId('badexec')]);
      expect(r.status).toBe(255);
      expect(r.stderr).toBe('exec /run.sh: no such file or directory\n');
      for (const [args, message] of [
        [['/no/such'], 'exec: "/no/such": stat /no/such: no such file or directory'],
        [['nosuch'], 'exec: "nosuch": executable file not found in $PATH'],
        [['/etc/passwd'], 'exec: "/etc/passwd": permission denied'],
      ] as [string[], string][]) {
        spec.process.args = args;
        fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
        const id = uniqueId('badexec');
        const c = tsoci(['run', '--bundle', bundle, id]);
        expect(c.status).toBe(1);
        expect(c.stderr).toBe(`${message}\n`);
        expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
      }
    } finally {
      removeBundle(bundle);
    }
  });
});

describe('the pty tsoci relays itself (terminal: true, no --console-socket)', () => {
  test("output to a file has the container's plain \"\\n\" (runc's ClearONLCR): run and exec -t", () => {
    const spec = testSpec(['sh', '-c', 'test -t 1 && echo a; echo b']);
    spec.process.terminal = true;
    const b = makeBundle(spec);
    const other = makeBundle(testSpec(['sleep', '600']));
    const id = uniqueId('ttyonlcr');
    try {
      expect(tsoci(['run', '--bundle', b, uniqueId('ttyonlcr')])).toMatchObject({ status: 0, stdout: 'a\nb\n' });
      expect(tsoci(['run', '-d', '--bundle', other, id]).status).toBe(0);
      expect(tsoci(['exec', '-t', id, 'sh', '-c', 'test -t 1 && echo c; echo d'])).toMatchObject({ status: 0, stdout: 'c\nd\n' });
    } finally {
      tsoci(['delete', '--force', id]);
      removeBundle(b);
      removeBundle(other);
    }
  });
});

const host = cgroupHost();
const describeV1 = host.mode === 'v2' ? describe.skip : describe;
if (host.mode === 'v2') console.log('exec --cgroup [v1] skipped: this host has cgroup v2 only');

describeV1('exec --cgroup on cgroup v1', () => {
  let bundle: string;
  let id: string;
  let paths: Record<string, string>;
  beforeAll(() => {
    bundle = makeBundle(testSpec(['sleep', '600']));
    id = uniqueId('xcg');
    const r = tsoci(['run', '-d', '--bundle', bundle, id]);
    if (r.status !== 0) throw new Error(`run -d failed: ${r.stderr}`);
    paths = stateOf(id).cgroupPaths ?? JSON.parse(fs.readFileSync(path.join(TEST_ROOT, id, 'state.json'), 'utf8')).cgroupPaths;
  });
  afterAll(() => {
    for (const p of [paths.memory + '/submem', paths.cpu + '/subcpu', paths.cpuacct + '/subcpu']) {
      try {
        fs.rmdirSync(p);
      } catch {
        /* not made, or gone */
      }
    }
    tsoci(['delete', '-f', id]);
    removeBundle(bundle);
  });

  test('refusals: a path out of the container cgroup, a missing sub-cgroup, an unknown controller, bad syntax; all 255, nothing left', () => {
    const cases: [string[], RegExp][] = [
      [['--cgroup', '..'], /exec failed: bad sub cgroup path: \.\.$/],
      [['--cgroup', 'memory:../x'], /exec failed: bad sub cgroup path: \.\.\/x$/],
      [['--cgroup', 'nonexistent'], /exec failed: error adding pid \d+ to cgroups: .*nonexistent\/cgroup\.procs: no such file or directory/],
      [['--cgroup', 'cpu:nonexistent'], /exec failed: error adding pid \d+ to cgroups: .*cpu.*nonexistent\/cgroup\.procs: no such file or directory/],
      [['--cgroup', 'whaaat:/'], /exec failed: unknown controller whaaat in --cgroup$/],
      [['--cgroup', 'a', '--cgroup', 'b'], /exec failed: invalid --cgroup argument: a \(missing <controller>: prefix\)$/],
      [['--cgroup', ':x'], /exec failed: invalid --cgroup argument: :x \(empty <controller> prefix\)$/],
      [['--cgroup', 'memory:a', '--cgroup', 'memory:b'], /exec failed: invalid --cgroup argument\(s\): controller memory specified multiple times$/],
    ];
    for (const [flags, message] of cases) {
      const r = tsoci(['exec', ...flags, id, 'true']);
      expect({ flags, status: r.status }).toEqual({ flags, status: 255 });
      expect(r.stderr.trim()).toMatch(message);
    }
    expect(initsOf(id)).toEqual([]);
  });

  test("without --cgroup, or with '/', the process is in the container's cgroups; memory:sub and cpu,cpuacct:sub join those", () => {
    const inside = (flags: string[]) => {
      const r = tsoci(['exec', ...flags, id, 'sh', '-c', 'cat /proc/self/cgroup']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      return r.stdout;
    };
    // the container has a cgroup namespace: it sees its own cgroup as "/"
    for (const flags of [[], ['--cgroup', '/']]) {
      const text = inside(flags);
      expect(text).toMatch(/:memory:\/$/m);
      expect(text).toMatch(/:pids:\/$/m);
    }
    fs.mkdirSync(paths.memory + '/submem');
    fs.mkdirSync(paths.cpu + '/subcpu');
    if (paths.cpuacct !== paths.cpu) fs.mkdirSync(paths.cpuacct + '/subcpu');
    const text = inside(['--cgroup', 'memory:submem', '--cgroup', 'cpu,cpuacct:subcpu']);
    expect(text).toMatch(/:memory:\/submem$/m);
    expect(text).toMatch(/:cpu[^:]*:\/subcpu$/m);
    expect(text).toMatch(/:pids:\/$/m);
  });
});
