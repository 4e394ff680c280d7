import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeRootfs } from '../helpers/rootfs';
import { hostDefaultRootEntries, privatePodman, removePodmanLeftovers, writeContainersConf } from '../helpers/podman-private';
import { cgroupDirs, sleepMs, waitUntil, which } from '../helpers/clients';

// podman 4.x (through conmon) driving tsoci as its OCI runtime, with a private store,
// run root and tmpdir, the containers.conf of /work/shared/CLIENTS.md, and a busybox
// --rootfs (no image, no registry). Everything podman makes is removed afterwards.
const PODMAN = which('podman');
if (!PODMAN) process.stdout.write('podman.test.ts: SKIPPED — podman is not installed (apt-get install podman conmon containernetworking-plugins)\n');
const describeIfPodman = PODMAN ? describe : describe.skip;

describeIfPodman('podman --runtime tsoci', () => {
  let dir: string;
  let rootfs: string;
  let env: NodeJS.ProcessEnv;
  let cgroupsBefore: Set<string>;

  const podman = privatePodman(() => dir, () => env, 60000);
  /** podman run with the options every test uses; the caller's options go before --rootfs. */
  const run = (opts: string[], cmd: string[], timeoutMs?: number) =>
    podman(['run', '--network', 'none', ...opts, '--rootfs', rootfs, ...cmd], timeoutMs);
  const status = (name: string) => podman(['inspect', '-f', '{{.State.Status}}', name]).stdout.trim();

  // conmon calls tsoci without --root: state and the seccomp filter cache go to the
  // host's default root, which this suite must leave as it found it
  let hostRootBefore: Set<string>;
  beforeAll(() => {
    hostRootBefore = hostDefaultRootEntries();
    cgroupsBefore = cgroupDirs();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-podman-'));
    fs.chmodSync(dir, 0o755);
    rootfs = makeRootfs(path.join(dir, 'rootfs'));
    const conf = writeContainersConf(dir);
    env = { ...process.env, CONTAINERS_CONF: conf };
  });

  afterAll(() => {
    if (!dir) return;
    const stuck = removePodmanLeftovers(podman, dir, hostRootBefore, cgroupsBefore);
    expect(stuck).toEqual([]);
  });

  test('run --rm: output and exit code of the container process', () => {
    const r = run(['--rm'], ['/bin/sh', '-c', 'echo hello from $(hostname -s 2>/dev/null || hostname); exit 3']);
    expect(r.stdout).toMatch(/^hello from \S+\n$/);
    expect(r.status).toBe(3);
    expect(podman(['ps', '-a', '-q']).stdout.trim()).toBe('');
  });

  test('run -d, exec (output and exit code), exec -it with a terminal', () => {
    const r = run(['-d', '--name', 'execme'], ['/bin/sh', '-c', 'echo up; exec sleep 600']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(status('execme')).toBe('running');
    const e = podman(['exec', 'execme', '/bin/sh', '-c', 'echo exec-ok $$; id -u']);
    expect(e.stderr).toBe('');
    expect(e.stdout).toMatch(/^exec-ok \d+\n0\n$/);
    expect(podman(['exec', 'execme', '/bin/sh', '-c', 'exit 5']).status).toBe(5);
    // a terminal: stdin is a tty inside, and the pty turns \n into \r\n
    const t = podman(['exec', '-it', 'execme', '/bin/sh', '-c', 'test -t 0 && test -t 1 && echo is-a-tty']);
    expect(t.stderr).toBe('');
    expect(t.stdout).toBe('is-a-tty\r\n');
    // podman maps tsoci's "exec failed: exec: …" text (status 255, runc's) to the shell's codes
    const missing = podman(['exec', 'execme', '/bin/no-such-binary']);
    expect(missing.status).toBe(127);
    expect(missing.stderr).toContain('no such file or directory');
    expect(podman(['exec', 'execme', 'no-such-command']).status).toBe(127);
    const denied = podman(['exec', 'execme', '/etc/passwd']);
    expect(denied.status).toBe(126);
    expect(denied.stderr).toContain('permission denied');
    expect(podman(['rm', '-f', '-t', '0', 'execme']).status).toBe(0);
  });

  test('kill -s USR1 reaches the process; pause / unpause', () => {
    expect(run(['-d', '--name', 'sig'], ['/bin/sh', '-c', 'trap "echo got-usr1" USR1; echo ready; while true; do sleep 0.1; done']).status).toBe(0);
    waitUntil(() => podman(['logs', 'sig']).stdout.includes('ready'), 15000, 'ready');
    expect(podman(['kill', '-s', 'USR1', 'sig']).status).toBe(0);
    waitUntil(() => podman(['logs', 'sig']).stdout.includes('got-usr1'), 15000, 'got-usr1 in the logs');
    expect(podman(['pause', 'sig']).status).toBe(0);
    expect(status('sig')).toBe('paused');
    expect(podman(['unpause', 'sig']).status).toBe(0);
    expect(status('sig')).toBe('running');
    expect(podman(['rm', '-f', '-t', '0', 'sig']).status).toBe(0);
  });

  test('stop: SIGTERM, then SIGKILL after the timeout; restart; rm -f', () => {
    // TERM is caught and ignored, so only the KILL after -t 1 stops it
    expect(run(['-d', '--name', 'stubborn'], ['/bin/sh', '-c', 'trap "echo got-term" TERM; echo ready; while true; do sleep 0.1; done']).status).toBe(0);
    waitUntil(() => podman(['logs', 'stubborn']).stdout.includes('ready'), 15000, 'ready');
    const s = podman(['stop', '-t', '1', 'stubborn']);
    expect(s.status).toBe(0);
    expect(s.ms).toBeGreaterThanOrEqual(1000);
    expect(podman(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'stubborn']).stdout.trim()).toBe('exited 137');
    expect(podman(['logs', 'stubborn']).stdout).toContain('got-term');

    const pid1 = podman(['inspect', '-f', '{{.State.Pid}}', 'stubborn']).stdout.trim();
    expect(podman(['restart', '-t', '1', 'stubborn']).status).toBe(0);
    expect(status('stubborn')).toBe('running');
    const pid2 = podman(['inspect', '-f', '{{.State.Pid}}', 'stubborn']).stdout.trim();
    expect(Number(pid2)).toBeGreaterThan(0);
    expect(pid2).not.toBe(pid1);

    expect(podman(['rm', '-f', '-t', '0', 'stubborn']).status).toBe(0);
    expect(podman(['ps', '-a', '--format', '{{.Names}}']).stdout).not.toContain('stubborn');
  });

  test('a process that exits on SIGTERM stops at once with its own status', () => {
    expect(run(['-d', '--name', 'polite'], ['/bin/sh', '-c', 'trap "exit 0" TERM; echo ready; while true; do sleep 0.1; done']).status).toBe(0);
    waitUntil(() => podman(['logs', 'polite']).stdout.includes('ready'), 15000, 'ready');
    const s = podman(['stop', '-t', '10', 'polite']);
    expect(s.status).toBe(0);
    expect(s.ms).toBeLessThan(8000);
    expect(podman(['inspect', '-f', '{{.State.ExitCode}}', 'polite']).stdout.trim()).toBe('0');
    expect(podman(['rm', 'polite']).status).toBe(0);
  });

  test('a failing entrypoint: exit 127, and the message is the one tsoci wrote to the oci-log', () => {
    const r = run(['--name', 'broken'], ['/bin/no-such-binary']);
    expect(r.status).toBe(127);
    // podman reads the runtime's error from <userdata>/oci-log (runtime_supports_json)
    const logs = findFiles(path.join(dir, 'runroot'), 'oci-log');
    const entries = logs.flatMap((f) => fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
    const err = entries.find((e) => e.level === 'error');
    expect(err).toBeDefined();
    expect(err.msg).toContain('/bin/no-such-binary');
    expect(err.msg).toContain('no such file or directory');
    expect(r.stderr).toContain(err.msg);
    // podman prefixes the runtime's name once; a message taken from stderr would repeat it
    expect(r.stderr).not.toContain('tsoci: tsoci:');
    expect(podman(['rm', '-f', 'broken']).status).toBe(0);
  });

  test('--uidmap 0:100000:65536: a user namespace with the mapping', () => {
    const r = run(['--rm', '--uidmap', '0:100000:65536'], ['/bin/sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; id -u']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    expect(lines).toEqual(['0 100000 65536', '0 100000 65536', '0']);
  });

  test('nothing is left running: every container removed, no conmon of ours', () => {
    sleepMs(100);
    expect(podman(['ps', '-a', '-q']).stdout.trim()).toBe('');
  });
});

function findFiles(dir: string, name: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name === name) out.push(p);
    }
  };
  walk(dir);
  return out;
}
