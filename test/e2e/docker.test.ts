import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeRootfs } from '../helpers/rootfs';
import { TSOCI } from '../helpers/tsoci';
import { readCg } from '../helpers/cgroups';
import { cgroupDirs, removeNewCgroups, runCmd, sleepMs, unmountUnder, waitUntil, type CmdResult } from '../helpers/clients';

// Docker 20.10 (Debian's docker.io) with tsoci as its default runtime: a private dockerd
// started by the test (data-root, exec-root, pidfile, socket and trust key in a temp dir;
// no iptables, no bridge; the containerd it starts for itself lives under the exec-root),
// containers with --network none, and an image imported from a busybox rootfs tarball.
// dockerd reaches tsoci through containerd's runc shim v2: every call is
// `tsoci --root <exec-root>/runtime-runc/moby --log <bundle>/log.json --log-format json …`.
// The docker client is Debian's (/usr/bin/docker), by path: /usr/local/bin may hold another.
const DOCKERD = '/usr/sbin/dockerd';
const DOCKER = '/usr/bin/docker';
const NEEDS = [DOCKERD, DOCKER, '/usr/bin/docker-init', '/usr/bin/containerd', '/usr/bin/containerd-shim-runc-v2'];
const MISSING = NEEDS.filter((f) => !fs.existsSync(f));
if (MISSING.length > 0) process.stdout.write(`docker.test.ts: SKIPPED — ${MISSING.join(', ')} not installed (apt-get install docker.io containerd)\n`);
const describeIfDocker = MISSING.length === 0 ? describe : describe.skip;

const IMAGE = 'tsoci-busybox:test';
const MiB = 1024 * 1024;

describeIfDocker('docker (dockerd 20.10, containerd shim) with tsoci as the runtime', () => {
  let dir: string;
  let sock: string;
  let execRoot: string;
  let stateRoot: string;
  let cgroupParent: string;
  let daemon: ChildProcess | undefined;
  let daemonLog: string;
  let cgroupsBefore: Set<string>;
  let runContainerdBefore: boolean;
  let runDockerBefore: boolean;
  let env: NodeJS.ProcessEnv;

  const docker = (args: string[], opts: { timeoutMs?: number; input?: string } = {}): CmdResult =>
    runCmd(DOCKER, ['-H', `unix://${sock}`, ...args], { env, timeoutMs: opts.timeoutMs ?? 60000, input: opts.input });
  const run = (opts: string[], cmd: string[], input?: string) => docker(['run', '--network', 'none', ...opts, IMAGE, ...cmd], { input });
  const inspect = (name: string, fmt: string) => docker(['inspect', '-f', fmt, name]).stdout.trim();
  const logs = (name: string) => docker(['logs', name]).stdout;
  /** tsoci's own view of a container (its state root is the shim's --root). */
  const tsociState = (id: string) => JSON.parse(runCmd(TSOCI, ['--root', stateRoot, 'state', id]).stdout || '{}');
  const cgroupOf = (id: string, ctrl: string) => JSON.parse(fs.readFileSync(path.join(stateRoot, id, 'state.json'), 'utf8')).cgroupPaths[ctrl] as string;

  beforeAll(async () => {
    cgroupsBefore = cgroupDirs();
    runDockerBefore = fs.existsSync('/run/docker');
    runContainerdBefore = fs.existsSync('/run/containerd');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-docker-'));
    fs.chmodSync(dir, 0o755);
    sock = path.join(dir, 'docker.sock');
    execRoot = path.join(dir, 'exec');
    stateRoot = path.join(execRoot, 'runtime-runc', 'moby');
    cgroupParent = `tsoci-docker-${process.pid}`;
    daemonLog = path.join(dir, 'dockerd.log');
    env = { ...process.env, DOCKER_CONFIG: path.join(dir, 'client') };
    fs.writeFileSync(path.join(dir, 'daemon.json'), JSON.stringify({
      runtimes: { tsoci: { path: TSOCI } },
      'default-runtime': 'tsoci',
      // the trust key would otherwise go to /etc/docker/key.json
      'deprecated-key-path': path.join(dir, 'key.json'),
    }));
    const logFd = fs.openSync(daemonLog, 'w');
    daemon = spawn(DOCKERD, [
      '--config-file', path.join(dir, 'daemon.json'), '--data-root', path.join(dir, 'data'), '--exec-root', execRoot,
      '--pidfile', path.join(dir, 'docker.pid'), '-H', `unix://${sock}`,
      '--iptables=false', '--ip6tables=false', '--ip-forward=false', '--ip-masq=false', '--bridge=none', '--userland-proxy=false',
      '--storage-driver', 'vfs', '--exec-opt', 'native.cgroupdriver=cgroupfs', '--cgroup-parent', `/${cgroupParent}`,
    ], { stdio: ['ignore', logFd, logFd] });
    fs.closeSync(logFd);
    const end = Date.now() + 60000;
    while (docker(['version'], { timeoutMs: 5000 }).status !== 0) {
      if (Date.now() > end || daemon.exitCode !== null) throw new Error(`dockerd did not start:\n${fs.readFileSync(daemonLog, 'utf8')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // the image: a busybox rootfs tarball, imported (no registry)
    const rootfs = makeRootfs(path.join(dir, 'rootfs'));
    fs.writeFileSync(path.join(rootfs, 'bin/not-executable'), '#!/bin/sh\necho never\n', { mode: 0o644 });
    const tar = spawnSync('tar', ['-C', rootfs, '-cf', path.join(dir, 'rootfs.tar'), '.']);
    if (tar.status !== 0) throw new Error(`tar: ${tar.stderr}`);
    const imp = docker(['import', '--change', 'CMD ["/bin/sh"]', path.join(dir, 'rootfs.tar'), IMAGE]);
    if (imp.status !== 0) throw new Error(`docker import: ${imp.stderr}`);
  }, 120000);

  afterAll(async () => {
    if (!dir) return;
    if (daemon && daemon.exitCode === null) {
      const ids = docker(['ps', '-aq']).stdout.split('\n').filter(Boolean);
      if (ids.length > 0) docker(['rm', '-f', ...ids]);
      // dockerd stops the containerd it started; wait for both
      const exited = new Promise((r) => daemon!.once('exit', r));
      daemon.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20000).unref())]);
      if (daemon.exitCode === null) daemon.kill('SIGKILL');
    }
    // a containerd or shim that outlived dockerd (a failed run): they name our dir in argv
    for (const pid of processesMentioning(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    unmountUnder(dir);
    fs.rmSync(dir, { recursive: true, force: true });
    // dockerd makes /run/docker/plugins whatever the exec-root
    if (!runDockerBefore) fs.rmSync('/run/docker', { recursive: true, force: true });
    // the shims' sockets (/run/containerd/s) and fifos go there whatever containerd's state dir
    if (!runContainerdBefore) fs.rmSync('/run/containerd', { recursive: true, force: true });
    expect(removeNewCgroups(cgroupsBefore, (d) => d.includes(`/${cgroupParent}`))).toEqual([]);
  }, 60000);

  test('run --rm: output and exit status; 127 for a missing binary, 126 for a non-executable one', () => {
    const r = run(['--rm'], ['/bin/sh', '-c', 'echo hello from docker; exit 3']);
    expect(r.stdout).toBe('hello from docker\n');
    expect(r.status).toBe(3);
    const missing = run(['--rm'], ['/bin/no-such-binary']);
    expect(missing.status).toBe(127);
    // the shim's "OCI runtime create failed: <tsoci's error line from log.json>"
    expect(missing.stderr).toMatch(/OCI runtime create failed: .*\/bin\/no-such-binary.*no such file or directory/);
    const notExec = run(['--rm'], ['/bin/not-executable']);
    expect(notExec.status).toBe(126);
    expect(notExec.stderr).toMatch(/OCI runtime create failed: .*permission denied/);
    expect(docker(['ps', '-aq']).stdout.trim()).toBe('');
  });

  test('run -d under tsoci; exec, exec -it, logs, kill -s USR1, pause/unpause, top, stats, update', () => {
    const r = run(['-d', '--name', 'busy'], ['/bin/sh', '-c', 'trap "echo got-usr1" USR1; echo ready; while true; do sleep 0.1; done']);
    expect(r.status).toBe(0);
    const id = r.stdout.trim();
    try {
      waitUntil(() => logs('busy').includes('ready'), 15000, 'ready in the logs');
      // the container is tsoci's: its state under the shim's root, the same init pid as docker's
      const st = tsociState(id);
      expect(st.status).toBe('running');
      expect(String(st.pid)).toBe(inspect('busy', '{{.State.Pid}}'));

      const e = docker(['exec', 'busy', '/bin/sh', '-c', 'echo from-exec; exit 4']);
      expect(e.stdout).toBe('from-exec\n');
      expect(e.status).toBe(4);
      // docker wants its own stdin to be a terminal for -it: give it one with script(1)
      const t = runCmd('script', ['-qec', `${DOCKER} -H unix://${sock} exec -it busy /bin/sh -c 'test -t 0 && test -t 1 && echo is-a-tty'`, '/dev/null'], { env });
      expect(t.stdout).toMatch(/is-a-tty\r+\n/);
      expect(t.status).toBe(0);

      expect(docker(['kill', '-s', 'USR1', 'busy']).status).toBe(0);
      waitUntil(() => logs('busy').includes('got-usr1'), 15000, 'got-usr1 in the logs');

      expect(docker(['pause', 'busy']).status).toBe(0);
      expect(inspect('busy', '{{.State.Status}}')).toBe('paused');
      expect(tsociState(id).status).toBe('paused');
      expect(docker(['unpause', 'busy']).status).toBe(0);
      expect(inspect('busy', '{{.State.Status}}')).toBe('running');

      // top: the shim asks tsoci for the pids (ps --format json), docker runs ps on them
      const top = docker(['top', 'busy']);
      expect(top.status).toBe(0);
      expect(top.stdout).toContain('while true; do sleep 0.1; done');
      const stats = docker(['stats', '--no-stream', '--format', '{{.PIDs}} {{.MemUsage}}', 'busy']);
      expect(stats.status).toBe(0);
      expect(stats.stdout).toMatch(/^[1-9]\d* \d+(\.\d+)?[KMG]iB \/ /);

      // update: the shim sends `update --resources - <id>` with the LinuxResources on stdin
      const u = docker(['update', '--memory', '64m', '--memory-swap', '128m', '--cpus', '0.5', '--pids-limit', '50', 'busy']);
      expect(u.status).toBe(0);
      expect(readCg(cgroupOf(id, 'memory'), 'memory.limit_in_bytes')).toBe(String(64 * MiB));
      expect(readCg(cgroupOf(id, 'memory'), 'memory.memsw.limit_in_bytes')).toBe(String(128 * MiB));
      expect(readCg(cgroupOf(id, 'cpu'), 'cpu.cfs_quota_us')).toBe('50000');
      expect(readCg(cgroupOf(id, 'cpu'), 'cpu.cfs_period_us')).toBe('100000');
      expect(readCg(cgroupOf(id, 'pids'), 'pids.max')).toBe('50');
      expect(docker(['stats', '--no-stream', '--format', '{{.MemUsage}}', 'busy']).stdout).toMatch(/ \/ 64MiB/);
    } finally {
      docker(['rm', '-f', 'busy']);
    }
    expect(fs.existsSync(path.join(stateRoot, id))).toBe(false);
  });

  test('stop: SIGTERM, then SIGKILL after the timeout; restart', () => {
    expect(run(['-d', '--name', 'polite'], ['/bin/sh', '-c', 'trap "exit 7" TERM; echo ready; while true; do sleep 0.1; done']).status).toBe(0);
    expect(run(['-d', '--name', 'stubborn'], ['/bin/sh', '-c', 'trap "echo got-term" TERM; echo ready; while true; do sleep 0.1; done']).status).toBe(0);
    try {
      waitUntil(() => logs('polite').includes('ready') && logs('stubborn').includes('ready'), 15000, 'ready');
      const p = docker(['stop', '-t', '10', 'polite']);
      expect(p.status).toBe(0);
      expect(p.ms).toBeLessThan(8000);
      expect(inspect('polite', '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 7');

      const s = docker(['stop', '-t', '2', 'stubborn']);
      expect(s.status).toBe(0);
      expect(s.ms).toBeGreaterThanOrEqual(2000);
      expect(inspect('stubborn', '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 137');
      expect(logs('stubborn')).toContain('got-term');

      const pid1 = inspect('stubborn', '{{.State.Pid}}');
      const id = inspect('stubborn', '{{.Id}}');
      expect(docker(['start', 'stubborn']).status).toBe(0);
      const pid2 = inspect('stubborn', '{{.State.Pid}}');
      expect(docker(['restart', '-t', '1', 'stubborn']).status).toBe(0);
      expect(inspect('stubborn', '{{.State.Status}}')).toBe('running');
      const pid3 = inspect('stubborn', '{{.State.Pid}}');
      expect(new Set([pid1, pid2, pid3]).size).toBe(3);
      expect(String(tsociState(id).pid)).toBe(pid3);
    } finally {
      docker(['rm', '-f', 'polite', 'stubborn']);
    }
  });

  test('--init: docker-init is pid 1 and the command its child; -i: stdin reaches the container', () => {
    const r = run(['--rm', '--init'], ['/bin/sh', '-c', 'tr "\\0" " " < /proc/1/cmdline; echo; echo sh=$$']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\/sbin\/docker-init -- \/bin\/sh -c /);
    expect(r.stdout).toMatch(/\nsh=(\d+)\n$/);
    expect(r.stdout).not.toMatch(/\nsh=1\n$/);

    const i = run(['--rm', '-i'], ['/bin/sh', '-c', 'wc -l; cat'], 'one\ntwo\n');
    expect(i.status).toBe(0);
    expect(i.stdout.trim()).toBe('2');
  });

  test('--read-only --cap-drop ALL --user 1000:1000 --security-opt no-new-privileges with limits', () => {
    const r = run(
      ['--rm', '--read-only', '--cap-drop', 'ALL', '--user', '1000:1000', '--security-opt', 'no-new-privileges',
        '--memory', '32m', '--pids-limit', '20', '--cpus', '0.25'],
      ['/bin/sh', '-c', [
        'id -u; id -g',
        'touch /x 2>/dev/null && echo wrote || echo read-only',
        'grep -E "^(CapEff|NoNewPrivs):" /proc/self/status',
        // docker gives the container its own cgroups at /sys/fs/cgroup (read-only)
        'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us',
      ].join('; ')],
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').map((l) => l.replace(/\s+/g, ' '))).toEqual([
      '1000', '1000', 'read-only', 'CapEff: 0000000000000000', 'NoNewPrivs: 1', String(32 * MiB), '20', '25000', '',
    ]);
  });

  test('nothing is left: no containers, no tsoci state, no netns mounts', () => {
    sleepMs(100);
    expect(docker(['ps', '-aq']).stdout.trim()).toBe('');
    // (tsoci keeps its compiled seccomp filters in .seccomp-cache by design)
    expect((fs.existsSync(stateRoot) ? fs.readdirSync(stateRoot) : []).filter((n) => n !== '.seccomp-cache')).toEqual([]);
    const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m && m.startsWith(path.join(execRoot, 'netns')));
    expect(mounts).toEqual([]);
  });
});

/** Pids whose command line names `dir` (a containerd or shim started for our daemon). */
function processesMentioning(dir: string): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir)) out.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return out;
}
