import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeRootfs } from '../helpers/rootfs';
import { ConsoleListener, readMaster } from '../helpers/console';
import { REPO } from '../helpers/tsoci';
import { waitUntil, type CmdResult } from '../helpers/clients';
import { createTestUser, giveTo, removeTestUser, rootlessUnavailable, runAs, SETPRIV, userPids, type TestUser } from '../helpers/rootless-user';

// tsoci run by an unprivileged user, as runc is: `spec --rootless`, no --rootless flag
// (auto), state under $XDG_RUNTIME_DIR/tsoci, no cgroups on this cgroup v1 host unless a
// cgroup v2 subtree is delegated to the user; maps beyond the user's own id through
// newuidmap/newgidmap. The user, its ranges and everything it ran are removed afterwards.
const UNAVAILABLE = rootlessUnavailable();
if (UNAVAILABLE) process.stdout.write(`rootless.test.ts: SKIPPED — ${UNAVAILABLE}\n`);
const describeIfRootless = UNAVAILABLE ? describe.skip : describe;

describeIfRootless('rootless tsoci', () => {
  let u: TestUser;
  let bundle: string;
  let baseConfig: Record<string, any>;
  const stateRoot = () => path.join(u.xdg, 'tsoci');
  const ts = (args: string[], opts: Parameters<typeof runAs>[2] = {}): CmdResult => runAs(u, [u.tsoci, ...args], opts);
  /** config.json of the bundle: the `spec --rootless` one, edited */
  const configure = (edit: (c: Record<string, any>) => void, dir = bundle) => {
    const c = JSON.parse(JSON.stringify(baseConfig));
    c.process.terminal = false;
    edit(c);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c));
    giveTo(u, path.join(dir, 'config.json'));
  };
  const multiRange = (c: Record<string, any>, hostStart = u.subStart, size = 65536) => {
    c.linux.uidMappings = [{ containerID: 0, hostID: u.uid, size: 1 }, { containerID: 1, hostID: hostStart, size }];
    c.linux.gidMappings = [{ containerID: 0, hostID: u.gid, size: 1 }, { containerID: 1, hostID: hostStart, size }];
  };
  const leftState = () => (fs.existsSync(stateRoot()) ? fs.readdirSync(stateRoot()).filter((n) => !n.startsWith('.')) : []);
  const oneErrorLine = (r: CmdResult, re: RegExp) => {
    expect(r.status).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr.trimEnd()).toMatch(re);
  };

  beforeAll(() => {
    u = createTestUser('tsrl');
    bundle = path.join(u.home, 'bundle');
    makeRootfs(path.join(bundle, 'rootfs'));
    for (const a of ['tty', 'stty']) fs.symlinkSync('busybox', path.join(bundle, 'rootfs', 'bin', a));
    giveTo(u, bundle);
    const s = ts(['spec', '--rootless'], { cwd: bundle });
    expect(s.stderr).toBe('');
    expect(s.status).toBe(0);
    baseConfig = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
  });

  afterEach(() => {
    for (const id of leftState()) ts(['delete', '--force', id]);
  });

  afterAll(() => {
    if (!u) return;
    for (const id of leftState()) ts(['delete', '--force', id]);
    const leftovers = removeTestUser(u);
    expect(leftovers).toEqual([]);
  });

  test('spec --rootless maps the user; run with no --rootless flag (auto): exit code, uid 0 inside is the user', () => {
    expect(baseConfig.linux.uidMappings).toEqual([{ containerID: 0, hostID: u.uid, size: 1 }]);
    expect(baseConfig.linux.gidMappings).toEqual([{ containerID: 0, hostID: u.gid, size: 1 }]);
    expect(baseConfig.linux.namespaces.map((n: { type: string }) => n.type)).toContain('user');
    configure((c) => (c.process.args = ['sh', '-c', 'id -u; cat /proc/self/uid_map; exit 7']));
    const r = ts(['run', 'auto1'], { cwd: bundle });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(7);
    expect(r.stdout.split('\n')[0]).toBe('0');
    expect(r.stdout.split('\n')[1].trim().split(/\s+/)).toEqual(['0', String(u.uid), '1']);
    expect(leftState()).toEqual([]);
    const f = JSON.parse(ts(['features']).stdout);
    expect(f.annotations['dev.tsoci.rootless']).toBe('auto,true,false');
    expect(f.annotations['dev.tsoci.rootless.cgroups']).toContain('v2-delegated');
  });

  test('create/start/state/list/ps/exec/exec -t/kill/delete; state under $XDG_RUNTIME_DIR/tsoci', async () => {
    configure((c) => (c.process.args = ['sh', '-c', 'echo up; exec sleep 600']));
    const id = 'life1';
    expect(ts(['create', '--bundle', bundle, id]).status).toBe(0);
    expect(fs.statSync(path.join(stateRoot(), id)).uid).toBe(u.uid);
    expect(fs.statSync(stateRoot()).mode & 0o7777).toBe(0o1700);
    let st = JSON.parse(ts(['state', id]).stdout);
    expect(st.status).toBe('created');
    expect(st.owner).toBe(u.name);
    expect(ts(['start', id]).status).toBe(0);
    st = JSON.parse(ts(['state', id]).stdout);
    expect(st.status).toBe('running');
    expect(fs.statSync(`/proc/${st.pid}`).uid).toBe(u.uid);
    expect(ts(['list', '-q']).stdout).toBe(`${id}\n`);
    const ps = ts(['ps', '--format', 'json', id]);
    expect(ps.stderr).toBe('');
    expect(JSON.parse(ps.stdout)).toContain(st.pid);

    const e = ts(['exec', id, 'sh', '-c', 'echo exec-ok; id -u; exit 4']);
    expect(e.stderr).toBe('');
    expect(e.stdout).toBe('exec-ok\n0\n');
    expect(e.status).toBe(4);

    // exec -t with a console socket (conmon's way): the socket is the user's
    const l = new ConsoleListener(5000);
    try {
      giveTo(u, l.dir);
      const t = ts(['exec', '-t', '--console-socket', l.path, '-d', id, 'sh', '-c', 'test -t 1 && echo X$((3*3))']);
      expect(t.stderr).toBe('');
      expect(t.status).toBe(0);
      expect(await readMaster(l.receive().fd)).toMatch(/^X9\r$/m);
    } finally {
      l.close();
    }

    // exec -t in the foreground: tsoci relays its own terminal
    const env = ['env', '-i', `HOME=${u.home}`, `USER=${u.name}`, `XDG_RUNTIME_DIR=${u.xdg}`, `PATH=${path.dirname(process.execPath)}:/usr/bin:/bin`];
    const p = spawnSync('python3', [path.join(REPO, 'test', 'helpers', 'pty_run.py'), JSON.stringify({
      argv: [...env, SETPRIV, `--reuid=${u.uid}`, `--regid=${u.gid}`, '--clear-groups', '--', u.tsoci, 'exec', '-t', id, 'sh', '-c', 'test -t 0 && echo is-a-tty; exit 3'],
      rows: 24, cols: 80, timeout: 20,
    })], { encoding: 'utf8', timeout: 40000 });
    const pr = JSON.parse(p.stdout);
    expect(pr.output).toContain('is-a-tty');
    expect(pr.status).toBe(3);

    // events --stats: one JSON object (no cgroup: no figures), as for any container
    const ev = ts(['events', '--stats', id]);
    expect(ev.status).toBe(0);
    expect(JSON.parse(ev.stdout)).toMatchObject({ type: 'stats', id });

    // no cgroup here (v1, nothing delegated): pause and limits are refused in one line
    const pause = ts(['pause', id]);
    expect(pause.status).toBe(1);
    expect(pause.stderr).toMatch(/cannot pause: the container has no cgroup/);
    const upd = ts(['update', '--pids-limit', '10', id]);
    expect(upd.status).toBe(1);
    expect(upd.stderr).toMatch(/no cgroup/);

    expect(ts(['kill', id, 'KILL']).status).toBe(0);
    waitUntil(() => JSON.parse(ts(['state', id]).stdout).status === 'stopped', 15000, 'stopped');
    expect(ts(['delete', id]).status).toBe(0);
    expect(leftState()).toEqual([]);
    expect(userPids(u)).toEqual([]);
  });

  test('kill --all without a cgroup reaches every process of the pid namespace', () => {
    // init (pid 1 of its namespace, no handler) does not die of TERM; only its child getting
    // TERM too ends the container
    configure((c) => (c.process.args = ['sh', '-c', 'sleep 600 & wait']));
    const id = 'killall1';
    expect(ts(['run', '-d', '--bundle', bundle, id]).status).toBe(0);
    waitUntil(() => (JSON.parse(ts(['ps', '--format', 'json', id]).stdout) as number[]).length === 2, 15000, 'two processes');
    expect(ts(['kill', id, 'TERM']).status).toBe(0);
    expect(JSON.parse(ts(['state', id]).stdout).status).toBe('running');
    expect(ts(['kill', '--all', id, 'TERM']).status).toBe(0);
    waitUntil(() => JSON.parse(ts(['state', id]).stdout).status === 'stopped', 15000, 'stopped after kill --all');
    expect(ts(['delete', id]).status).toBe(0);
  });

  test('a multi-range mapping goes through newuidmap/newgidmap', () => {
    configure((c) => {
      multiRange(c);
      c.process.user = { uid: 1000, gid: 1000 };
      c.process.args = ['sh', '-c', 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map'];
    });
    const r = ts(['run', 'multi1'], { cwd: bundle });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    expect(lines).toEqual(['1000', '1000', `0 ${u.uid} 1`, `1 ${u.subStart} 65536`, `0 ${u.gid} 1`, `1 ${u.subStart} 65536`]);
    expect(leftState()).toEqual([]);
  });

  test('limits without a cgroup to put them in: one error line, nothing left', () => {
    configure((c) => (c.linux.resources = { pids: { limit: 10 }, memory: { limit: 64 << 20 } }));
    const r = ts(['run', 'limits1'], { cwd: bundle });
    oneErrorLine(r, /^cgroup: cannot set (pids|memory) limits?: rootless container could not join or create its cgroup \(mkdir .*permission denied/);
    expect(leftState()).toEqual([]);
    expect(userPids(u)).toEqual([]);
  });

  test('a delegated cgroup v2 subtree: the container is placed there, ps/pause/resume use it, delete removes it', () => {
    const unified = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')).find((f) => f[f.indexOf('-') + 1] === 'cgroup2')?.[4];
    if (!unified) {
      process.stdout.write('rootless.test.ts: delegation case SKIPPED — no cgroup2 mount\n');
      return;
    }
    const deleg = path.join(unified, `tsoci-rootless-test-${process.pid}`);
    fs.mkdirSync(deleg);
    try {
      // what systemd's Delegate=yes gives a user: the directory and its interface files
      for (const f of ['', 'cgroup.procs', 'cgroup.subtree_control', 'cgroup.threads']) fs.chownSync(path.join(deleg, f), u.uid, u.gid);
      configure((c) => (c.process.args = ['sleep', '600']));
      const id = 'deleg1';
      const r = ts(['run', '-d', '--bundle', bundle, id], { cgroupProcs: deleg });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const pid = JSON.parse(ts(['state', id]).stdout).pid;
      expect(fs.readFileSync(path.join(deleg, id, 'cgroup.procs'), 'utf8').split('\n')).toContain(String(pid));
      expect(JSON.parse(ts(['ps', '--format', 'json', id]).stdout)).toEqual([pid]);
      if (fs.existsSync(path.join(deleg, id, 'cgroup.freeze'))) {
        expect(ts(['pause', id]).status).toBe(0);
        expect(JSON.parse(ts(['state', id]).stdout).status).toBe('paused');
        expect(ts(['resume', id]).status).toBe(0);
        expect(JSON.parse(ts(['state', id]).stdout).status).toBe('running');
      }
      const d = ts(['delete', '--force', id]);
      expect(d.stderr).toBe('');
      expect(d.status).toBe(0);
      expect(fs.existsSync(path.join(deleg, id))).toBe(false);
      expect(leftState()).toEqual([]);
    } finally {
      waitUntil(() => {
        try {
          fs.rmdirSync(deleg);
          return true;
        } catch {
          return false;
        }
      }, 10000, `rmdir ${deleg}`);
    }
  });

  describe('bad input: one error line, exit 1, nothing left', () => {
    test('a mapping of ids the user does not own: newuidmap refuses', () => {
      configure((c) => multiRange(c, u.subStart + u.subCount, 1000));
      const r = ts(['run', 'notmine1'], { cwd: bundle });
      oneErrorLine(r, /write uid_map for pid \d+: operation not permitted \(EPERM\); newuidmap refused \(exit status 1\): newuidmap: .*not allowed/);
      expect(leftState()).toEqual([]);
      expect(userPids(u)).toEqual([]);
    });

    test('a config without a user namespace, or a mount option naming an unmapped id (runc\'s rootless checks)', () => {
      configure((c) => {
        c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'user');
        delete c.linux.uidMappings;
        delete c.linux.gidMappings;
      });
      oneErrorLine(ts(['run', 'nouserns1'], { cwd: bundle }), /^rootless container requires user namespaces/);
      configure((c) => c.mounts.push({ destination: '/mnt', type: 'tmpfs', source: 'tmpfs', options: ['uid=1000'] }));
      oneErrorLine(ts(['run', 'mountuid1'], { cwd: bundle }), /cannot specify uid=1000 mount option for rootless container: uid 1000 is not mapped/);
      expect(leftState()).toEqual([]);
    });

    test('--rootless false as the user: the cgroup error is not skipped', () => {
      configure((c) => (c.process.args = ['true']));
      oneErrorLine(ts(['--rootless', 'false', 'run', 'forced1'], { cwd: bundle }), /^cgroup: mkdir \/sys\/fs\/cgroup\/.*forced1: permission denied \(EACCES\)$/);
      oneErrorLine(ts(['--rootless', 'maybe', 'run', 'forced2'], { cwd: bundle }), /^invalid --rootless value "maybe": want true, false or auto$/);
      expect(leftState()).toEqual([]);
    });

    test('newuidmap missing from $PATH', () => {
      configure((c) => multiRange(c));
      const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-out-path-'));
      fs.chmodSync(bin, 0o755);
      fs.symlinkSync(process.execPath, path.join(bin, 'node'));
      try {
        const r = ts(['run', 'nohelper1'], { cwd: bundle, env: { PATH: bin } });
        oneErrorLine(r, /write uid_map for pid \d+: operation not permitted \(EPERM\); newuidmap not found in \$PATH \(install uidmap\)$/);
      } finally {
        fs.rmSync(bin, { recursive: true, force: true });
      }
      expect(leftState()).toEqual([]);
      expect(userPids(u)).toEqual([]);
    });

    test('an XDG_RUNTIME_DIR the user cannot write', () => {
      configure((c) => (c.process.args = ['true']));
      const xdg = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-out-xdg-'));
      fs.chmodSync(xdg, 0o755);
      try {
        const r = ts(['run', 'noxdg1'], { cwd: bundle, env: { XDG_RUNTIME_DIR: xdg } });
        oneErrorLine(r, new RegExp(`^create state root ${xdg}/tsoci: permission denied \\(EACCES\\): the path in \\$XDG_RUNTIME_DIR must be writable by the user \\(or pass --root\\)$`));
        expect(fs.readdirSync(xdg)).toEqual([]);
      } finally {
        fs.rmSync(xdg, { recursive: true, force: true });
      }
      // no XDG_RUNTIME_DIR at all: /run/tsoci, which is root's
      const r2 = ts(['run', 'noxdg2'], { cwd: bundle, env: { XDG_RUNTIME_DIR: '' } });
      oneErrorLine(r2, /(create state root|create state directory) \/run\/tsoci.*: permission denied \(EACCES\): set XDG_RUNTIME_DIR to a directory of yours, or pass --root$/);
      expect(userPids(u)).toEqual([]);
    });
  });
});
