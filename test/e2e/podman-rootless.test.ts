import * as fs from 'fs';
import * as path from 'path';
import { makeRootfs } from '../helpers/rootfs';
import { waitUntil, which, type CmdResult } from '../helpers/clients';
import { createTestUser, giveTo, removeTestUser, rootlessUnavailable, runAs, type TestUser } from '../helpers/rootless-user';

// Rootless podman 4.x (run by a throwaway user: its own user namespace through newuidmap,
// conmon and the runtime inside it as uid 0, XDG_RUNTIME_DIR set, no --root) with tsoci as
// --runtime, and the same cases with runc as a control: a case failing for both is the
// host's problem, one failing only for tsoci is a tsoci bug. vfs storage and private
// storage dirs in the user's home, cgroupfs manager (cgroup v1 here: no cgroups for rootless
// containers), --network none (no slirp4netns), a busybox --rootfs (no registry).
const why = rootlessUnavailable() ?? (which('podman') ? undefined : 'podman is not installed (apt-get install podman conmon)');
if (why) process.stdout.write(`podman-rootless.test.ts: SKIPPED — ${why}\n`);
const describeIf = why ? describe.skip : describe;

let u: TestUser;
let rootfs: string;

beforeAll(() => {
  if (why) return;
  u = createTestUser('tspm');
  rootfs = makeRootfs(path.join(u.home, 'rootfs'));
  giveTo(u, rootfs);
});

afterAll(() => {
  if (!u) return;
  // podman's pause process (it keeps the user namespace) outlives every command: removeTestUser ends it
  removeTestUser(u);
});

describeIf.each(['tsoci', 'runc'])('rootless podman --runtime %s', (runtime) => {
  let dir: string;
  let conf: string;
  const podman = (args: string[], timeoutMs = 90000): CmdResult =>
    runAs(u, ['podman', '--root', path.join(dir, 'root'), '--runroot', path.join(dir, 'runroot'), '--tmpdir', path.join(dir, 'tmp'),
      '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', '--runtime', runtime, ...args],
    { env: { CONTAINERS_CONF: conf }, timeoutMs });
  const run = (opts: string[], cmd: string[]) => podman(['run', '--network', 'none', ...opts, '--rootfs', rootfs, ...cmd]);
  const status = (name: string) => podman(['inspect', '-f', '{{.State.Status}}', name]).stdout.trim();
  /** podman warns that "/" is not a shared mount on this host, for both runtimes */
  const stderrOf = (r: CmdResult) => r.stderr.split('\n').filter((l) => l && !l.includes('is not a shared mount')).join('\n');

  beforeAll(() => {
    dir = path.join(u.home, `podman-${runtime}`);
    fs.mkdirSync(dir);
    conf = path.join(dir, 'containers.conf');
    // tsoci as podman knows it with no configuration of its own: not in runtime_supports_json,
    // so podman passes no --log and relays the runtime's stderr (the "tsoci: tsoci:" case)
    fs.writeFileSync(conf, ['[engine]', 'cgroup_manager = "cgroupfs"', 'events_logger = "file"', '[engine.runtimes]', `tsoci = ["${u.tsoci}"]`, ''].join('\n'));
    giveTo(u, dir);
  });

  afterAll(() => {
    podman(['rm', '-a', '-f', '-t', '0']);
    if (runtime === 'tsoci') {
      const left = fs.existsSync(path.join(u.xdg, 'tsoci')) ? fs.readdirSync(path.join(u.xdg, 'tsoci')).filter((n) => !n.startsWith('.')) : [];
      expect(left).toEqual([]);
    }
  });

  test('run --rm: output and exit code; state under $XDG_RUNTIME_DIR', () => {
    const r = run(['--rm'], ['/bin/sh', '-c', 'echo hello; id -u; exit 3']);
    expect(stderrOf(r)).toBe('');
    expect(r.stdout).toBe('hello\n0\n');
    expect(r.status).toBe(3);
    expect(podman(['ps', '-a', '-q']).stdout.trim()).toBe('');
    if (runtime === 'tsoci') expect(fs.existsSync(path.join(u.xdg, 'tsoci'))).toBe(true);
  });

  test('run -d, exec (output and exit code), exec -it, logs', () => {
    const r = run(['-d', '--name', 'execme'], ['/bin/sh', '-c', 'echo up; exec sleep 600']);
    expect(stderrOf(r)).toBe('');
    expect(r.status).toBe(0);
    expect(status('execme')).toBe('running');
    const e = podman(['exec', 'execme', '/bin/sh', '-c', 'echo exec-ok; id -u']);
    expect(stderrOf(e)).toBe('');
    expect(e.stdout).toBe('exec-ok\n0\n');
    expect(podman(['exec', 'execme', '/bin/sh', '-c', 'exit 5']).status).toBe(5);
    const t = podman(['exec', '-it', 'execme', '/bin/sh', '-c', 'test -t 0 && test -t 1 && echo is-a-tty']);
    expect(stderrOf(t)).toBe('');
    expect(t.stdout).toBe('is-a-tty\r\n');
    waitUntil(() => podman(['logs', 'execme']).stdout === 'up\n', 15000, 'up in the logs');
    expect(podman(['rm', '-f', '-t', '0', 'execme']).status).toBe(0);
  });

  test('stop (SIGTERM ignored, SIGKILL after the timeout), restart, kill', () => {
    expect(run(['-d', '--name', 'stubborn'], ['/bin/sh', '-c', 'trap "echo got-term" TERM; echo ready; while true; do sleep 0.1; done']).status).toBe(0);
    waitUntil(() => podman(['logs', 'stubborn']).stdout.includes('ready'), 15000, 'ready');
    const s = podman(['stop', '-t', '1', 'stubborn']);
    expect(s.status).toBe(0);
    expect(podman(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'stubborn']).stdout.trim()).toBe('exited 137');
    expect(podman(['logs', 'stubborn']).stdout).toContain('got-term');
    const pid1 = podman(['inspect', '-f', '{{.State.Pid}}', 'stubborn']).stdout.trim();
    expect(podman(['restart', '-t', '1', 'stubborn']).status).toBe(0);
    expect(status('stubborn')).toBe('running');
    expect(podman(['inspect', '-f', '{{.State.Pid}}', 'stubborn']).stdout.trim()).not.toBe(pid1);
    expect(podman(['kill', 'stubborn']).status).toBe(0);
    waitUntil(() => status('stubborn') === 'exited', 15000, 'exited after kill');
    expect(podman(['inspect', '-f', '{{.State.ExitCode}}', 'stubborn']).stdout.trim()).toBe('137');
    expect(podman(['rm', 'stubborn']).status).toBe(0);
  });

  test('--userns=keep-id: the user\'s own uid inside', () => {
    const r = run(['--rm', '--userns=keep-id'], ['/bin/sh', '-c', 'id -u; cat /proc/self/uid_map']);
    expect(stderrOf(r)).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    expect(lines[0]).toBe(String(u.uid));
    expect(lines).toContain(`${u.uid} 0 1`);
  });

  test('a failing entrypoint: exit 127, the runtime named once', () => {
    const r = run(['--rm'], ['/bin/no-such-binary']);
    expect(r.status).toBe(127);
    expect(r.stderr).toContain('/bin/no-such-binary');
    expect(r.stderr).toContain('no such file or directory');
    expect(r.stderr).toContain(`Error: ${runtime}: `);
    expect(r.stderr).not.toContain(`${runtime}: ${runtime}:`);
  });
});
