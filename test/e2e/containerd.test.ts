import { type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeRootfs } from '../helpers/rootfs';
import { containerdNoCriConfig, ctrTools, startContainerd, stopContainerd } from '../helpers/containerd-daemon';
import { cgroupDirs, removeNewCgroups, runCmd, sleepMs, unmountUnder, waitUntil, which } from '../helpers/clients';

// containerd 1.6 (runc shim v2) driving tsoci through `ctr --runc-binary`: a private
// containerd (root, state, sockets under a temp dir, CRI plugin disabled) started by the
// test and stopped at the end. ctr's config.json has no env: commands are absolute paths.
const HAVE = which('containerd') && which('ctr') && which('containerd-shim-runc-v2');
if (!HAVE) process.stdout.write('containerd.test.ts: SKIPPED — containerd, ctr or containerd-shim-runc-v2 is not installed (apt-get install containerd)\n');
const describeIfContainerd = HAVE ? describe : describe.skip;

describeIfContainerd('containerd (ctr, runc shim v2) with tsoci as the runc binary', () => {
  let dir: string;
  let rootfs: string;
  let sock: string;
  let runcRoot: string;
  let daemon: ChildProcess | undefined;
  let daemonLog: string;
  let cgroupsBefore: Set<string>;

  const { ctr, run, taskStatus, removeTask, removeLeftovers } = ctrTools(() => ({ sock, runcRoot, rootfs }));

  beforeAll(async () => {
    cgroupsBefore = cgroupDirs();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-containerd-'));
    fs.chmodSync(dir, 0o755);
    rootfs = makeRootfs(path.join(dir, 'rootfs'));
    sock = path.join(dir, 'containerd.sock');
    runcRoot = path.join(dir, 'runc-root');
    daemonLog = path.join(dir, 'containerd.log');
    daemon = await startContainerd(dir, sock, daemonLog, containerdNoCriConfig(dir, sock));
  });

  afterAll(async () => {
    if (!dir) return;
    if (daemon && daemon.exitCode === null) removeLeftovers();
    await stopContainerd(daemon);
    unmountUnder(dir);
    fs.rmSync(dir, { recursive: true, force: true });
    // ctr's cgroupsPath is /<namespace>/<id>: tsoci removes the container's, the namespace's stays
    expect(removeNewCgroups(cgroupsBefore, (d) => /\/tsoci(\/|$)/.test(d.slice('/sys/fs/cgroup/'.length).replace(/^[^/]+/, '')))).toEqual([]);
  });

  test('run --rm: output and exit status of /bin/echo', () => {
    const r = run(['--rm'], 'c1', ['/bin/echo', 'hi']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hi\n');
    expect(r.status).toBe(0);
    expect(run(['--rm'], 'c1b', ['/bin/sh', '-c', 'exit 9']).status).toBe(9);
    expect(ctr(['container', 'ls', '-q']).stdout.trim()).toBe('');
  });

  test('run -d, task exec (with and without --tty), task ps', () => {
    expect(run(['-d'], 'c2', ['/bin/sleep', '600']).status).toBe(0);
    try {
      expect(taskStatus('c2')).toBe('RUNNING');
      const e = ctr(['task', 'exec', '--exec-id', 'e1', 'c2', '/bin/sh', '-c', 'echo from-exec; exit 4']);
      expect(e.stdout).toBe('from-exec\n');
      expect(e.status).toBe(4);
      // ctr wants its own stdin to be a terminal for --tty: give it one with script(1)
      const t = runCmd('script', ['-qec', `ctr --address ${sock} -n tsoci task exec --tty --exec-id e2 c2 /bin/sh -c 'test -t 0 && test -t 1 && echo is-a-tty'`, '/dev/null']);
      // script's own pty adds a second \r
      expect(t.stdout).toMatch(/is-a-tty\r+\n/);
      expect(t.status).toBe(0);
      const ps = ctr(['task', 'ps', 'c2']);
      expect(ps.status).toBe(0);
      const pids = ps.stdout.trim().split('\n').slice(1).map((l) => Number(l.trim().split(/\s+/)[0]));
      expect(pids.length).toBeGreaterThanOrEqual(1);
      expect(fs.readFileSync(`/proc/${pids[0]}/cmdline`, 'utf8')).toBe('/bin/sleep\u0000600\u0000');
    } finally {
      removeTask('c2');
    }
  });

  test('task pause / resume', () => {
    expect(run(['-d'], 'c3', ['/bin/sleep', '600']).status).toBe(0);
    try {
      expect(ctr(['task', 'pause', 'c3']).status).toBe(0);
      expect(taskStatus('c3')).toBe('PAUSED');
      expect(ctr(['task', 'resume', 'c3']).status).toBe(0);
      expect(taskStatus('c3')).toBe('RUNNING');
    } finally {
      removeTask('c3');
    }
  });

  test('task kill (SIGTERM to the process), kill -a -s SIGKILL, task delete, container delete', () => {
    expect(run(['-d'], 'c4', ['/bin/sh', '-c', 'trap "exit 7" TERM; while true; do sleep 0.1; done']).status).toBe(0);
    expect(run(['-d'], 'c5', ['/bin/sh', '-c', 'trap "" TERM; /bin/sleep 600 & while true; do sleep 0.1; done']).status).toBe(0);
    expect(ctr(['task', 'kill', 'c4']).status).toBe(0);
    waitUntil(() => taskStatus('c4') === 'STOPPED', 10000, 'c4 stopped');
    const d = ctr(['task', 'delete', 'c4']);
    expect(d.status).toBe(0);
    expect(d.stderr).toContain('exit code 7');
    expect(ctr(['container', 'delete', 'c4']).status).toBe(0);

    sleepMs(300);
    expect(ctr(['task', 'kill', '-a', '-s', 'SIGKILL', 'c5']).status).toBe(0);
    waitUntil(() => taskStatus('c5') === 'STOPPED', 10000, 'c5 stopped');
    expect(ctr(['task', 'delete', 'c5']).status).toBe(0);
    expect(ctr(['container', 'delete', 'c5']).status).toBe(0);
    expect(ctr(['container', 'ls', '-q']).stdout.trim()).toBe('');
    // the runtime's state is gone too
    expect(fs.existsSync(path.join(runcRoot, 'tsoci', 'c5'))).toBe(false);
  });

  test('a failing create: ctr reports the error tsoci wrote to log.json', () => {
    const r = run(['--rm'], 'c6', ['/bin/no-such-binary']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('OCI runtime create failed');
    // the shim reads the last error line of log.json (stderr carries the bare message, as runc prints it with --log)
    expect(r.stderr).toMatch(/OCI runtime create failed: exec: "\/bin\/no-such-binary": .*no such file or directory/);
    ctr(['container', 'delete', 'c6']);
    expect(ctr(['container', 'ls', '-q']).stdout.trim()).toBe('');
  });
});
