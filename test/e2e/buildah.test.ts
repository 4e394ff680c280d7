import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TSOCI } from '../helpers/tsoci';
import { BUILDAH, commitBusyboxImage, privateBuildah, type Buildah } from '../helpers/buildah';
import { cgroupDirs, removeNewCgroups, runCmd, unmountUnder, type CmdResult } from '../helpers/clients';

// buildah (Debian's 1.28) running RUN steps and `buildah run` with tsoci as its OCI runtime:
// private vfs storage, TMPDIR (the bundles) and tsoci state root (--runtime-flag root=…)
// under one temp dir; the base image is a busybox rootfs committed there (no registry).
// tsoci is reached through a wrapper that logs its argv, so the test can tell it was used.
if (!BUILDAH) process.stdout.write('buildah.test.ts: SKIPPED — buildah is not installed (apt-get install buildah)\n');
const describeIfBuildah = BUILDAH ? describe : describe.skip;

describeIfBuildah('buildah --runtime tsoci', () => {
  let dir: string;
  let b: Buildah;
  let runtime: string;
  let argvLog: string;
  let stateRoot: string;
  let cgroupsBefore: Set<string>;
  /** the flags every RUN/run needs: our runtime and state root, no network, cgroupfs */
  const runtimeFlags = () => ['--runtime', runtime, '--runtime-flag', `root=${stateRoot}`, '--isolation', 'oci', '--network', 'none', '--cgroup-manager', 'cgroupfs'];
  const bud = (file: string, text: string, extra: string[] = []): CmdResult => {
    fs.writeFileSync(path.join(dir, file), text);
    return b(['bud', ...runtimeFlags(), '--pull-never', ...extra, '-f', path.join(dir, file), dir]);
  };
  const tsociCalls = () => fs.readFileSync(argvLog, 'utf8').split('\n').filter(Boolean);

  beforeAll(() => {
    cgroupsBefore = cgroupDirs();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-buildah-'));
    fs.chmodSync(dir, 0o755);
    b = privateBuildah(dir);
    stateRoot = path.join(dir, 'tsoci-state');
    argvLog = path.join(dir, 'tsoci-argv.log');
    fs.writeFileSync(argvLog, '');
    runtime = path.join(dir, 'tsoci-logged');
    fs.writeFileSync(runtime, `#!/bin/sh\necho "$*" >> '${argvLog}'\nexec '${TSOCI}' "$@"\n`, { mode: 0o755 });
    commitBusyboxImage(b, 'localhost/tsoci-busybox', ['/bin/sh']);
  }, 120000);

  afterAll(() => {
    if (!dir) return;
    b(['rm', '--all']);
    unmountUnder(dir);
    fs.rmSync(dir, { recursive: true, force: true });
    expect(removeNewCgroups(cgroupsBefore, (d) => d.includes('buildah'))).toEqual([]);
  });

  test('bud: RUN steps run under tsoci and their changes are in the image', () => {
    const r = bud('Containerfile', [
      'FROM localhost/tsoci-busybox',
      'RUN echo step-one > /one && cat /one',
      'RUN echo "uid=$(id -u) one=$(cat /one)"; ls /one',
      '',
    ].join('\n'), ['-t', 'localhost/built']);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('step-one\n');
    expect(r.stdout).toContain('uid=0 one=step-one\n/one\n');
    // two RUN steps: each one create, start, state, delete on tsoci, with our state root
    const calls = tsociCalls();
    expect(calls.filter((c) => / create --bundle /.test(c))).toHaveLength(2);
    expect(calls.filter((c) => / start /.test(c))).toHaveLength(2);
    expect(calls.every((c) => c.startsWith(`--root=${stateRoot} `))).toBe(true);
    // the layer holds what the step wrote
    const c = b(['from', '--pull-never', 'localhost/built']).stdout.trim();
    const cat = b(['run', ...runtimeFlags(), c, '--', 'cat', '/one']);
    expect(cat.stdout).toBe('step-one\n');
    expect(cat.status).toBe(0);
    b(['rm', c]);
  });

  test('bud: a RUN step that exits 5 fails the build with status 5; later steps do not run', () => {
    const before = tsociCalls().length;
    const r = bud('Failing', ['FROM localhost/tsoci-busybox', 'RUN echo before-failure', 'RUN sh -c "exit 5"', 'RUN echo never', ''].join('\n'));
    expect(r.status).toBe(5);
    expect(r.stdout).toContain('before-failure\n');
    expect(r.stdout).not.toContain('never');
    expect(r.stderr).toContain('while running runtime: exit status 5');
    expect(tsociCalls().slice(before).filter((c) => / create /.test(c))).toHaveLength(2);
  });

  test('run with and without -t: output, exit status, a terminal inside', () => {
    const c = b(['from', '--pull-never', 'localhost/tsoci-busybox']).stdout.trim();
    try {
      const plain = b(['run', ...runtimeFlags(), c, '--', 'sh', '-c', 'test -t 0 || echo no-tty; exit 6']);
      expect(plain.stdout).toBe('no-tty\n');
      expect(plain.status).toBe(6);
      // buildah run -t wants its own stdin to be a terminal: give it one with script(1)
      const cmd = [BUILDAH!, '--root', path.join(dir, 'root'), '--runroot', path.join(dir, 'runroot'), '--storage-driver', 'vfs',
        'run', ...runtimeFlags(), '-t', c, '--', 'sh', '-c', "'test -t 0 && test -t 1 && echo is-a-tty'"].join(' ');
      const before = tsociCalls().length;
      const t = runCmd('script', ['-qec', cmd, '/dev/null'], { env: { ...process.env, TMPDIR: path.join(dir, 'tmp') } });
      expect(t.stdout).toMatch(/is-a-tty\r+\n/);
      expect(t.status).toBe(0);
      // the terminal is tsoci's: the pty master goes back over buildah's --console-socket
      expect(tsociCalls().slice(before).filter((l) => / create .*--console-socket \S+/.test(l))).toHaveLength(1);
    } finally {
      b(['rm', c]);
    }
    // every container deleted from tsoci's state root (its seccomp cache stays by design)
    expect(fs.readdirSync(stateRoot).filter((n) => n !== '.seccomp-cache')).toEqual([]);
    expect(fs.readdirSync(path.join(dir, 'tmp'))).toEqual([]);
  });
});
