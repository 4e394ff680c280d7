import { type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeRootfs } from '../helpers/rootfs';
import { containerdNoCriConfig, ctrTools, startContainerd, stopContainerd } from '../helpers/containerd-daemon';
import { findTestCriu } from '../helpers/criu';
import { cgroupDirs, removeNewCgroups, unmountUnder, waitUntil, which } from '../helpers/clients';

// containerd 1.6's `ctr task checkpoint` (runc shim v2, which runs `<runtime> checkpoint
// --image-path --work-path [--leave-running]`), with runc 1.1.5 as the control on the same
// host and CRIU. Set-up as in containerd.test.ts. ctr 1.6 has no restore from an image
// path; `ctr c checkpoint --task` needs an image (these containers have a --rootfs only).
const HAVE = which('containerd') && which('ctr') && which('containerd-shim-runc-v2') && which('runc');
const CRIU = findTestCriu();
const skip = !HAVE ? 'containerd, ctr, containerd-shim-runc-v2 or runc is not installed' : !CRIU.path ? CRIU.reason : undefined;
if (skip) process.stdout.write(`containerd-checkpoint.test.ts: SKIPPED — ${skip}\n`);
const describeIf = skip ? describe.skip : describe;

describeIf('containerd ctr task checkpoint: runc (control) and tsoci', () => {
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
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-containerd-cr-'));
    fs.chmodSync(dir, 0o755);
    rootfs = makeRootfs(path.join(dir, 'rootfs'));
    sock = path.join(dir, 'containerd.sock');
    runcRoot = path.join(dir, 'runc-root');
    daemonLog = path.join(dir, 'containerd.log');
    // the shims inherit containerd's PATH: runc (the control) runs `criu` from it
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.symlinkSync(CRIU.path!, path.join(bin, 'criu'));
    daemon = await startContainerd(dir, sock, daemonLog, containerdNoCriConfig(dir, sock), { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
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

  const COUNTER = ['/bin/sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done'];

  for (const runtime of ['runc', 'tsoci'] as const) {
    test(`${runtime}: checkpoint --image-path leaves it running; --exit stops it`, () => {
      const id = `cr-${runtime}`;
      const opts = runtime === 'tsoci' ? ['-d'] : ['-d'];
      const r = runtime === 'tsoci'
        ? run(opts, id, COUNTER)
        : ctr(['run', '--runc-root', path.join(dir, 'runc-control-root'), ...opts, '--rootfs', rootfs, id, ...COUNTER]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      try {
        waitUntil(() => taskStatus(id) === 'RUNNING', 10000, 'running');
        const images = path.join(dir, `images-${runtime}`);
        const cp = ctr(['task', 'checkpoint', '--image-path', images, '--work-path', path.join(dir, `work-${runtime}`), id]);
        expect(cp.stderr).toBe('');
        expect(cp.status).toBe(0);
        expect(fs.existsSync(path.join(images, 'descriptors.json'))).toBe(true);
        expect(fs.readdirSync(images).some((f) => f.startsWith('pstree'))).toBe(true);
        expect(taskStatus(id)).toBe('RUNNING');
        const ex = ctr(['task', 'checkpoint', '--exit', '--image-path', `${images}-exit`, id]);
        expect(ex.stderr).toBe('');
        expect(ex.status).toBe(0);
        waitUntil(() => taskStatus(id) !== 'RUNNING', 10000, 'stopped after --exit');
      } finally {
        removeTask(id);
      }
    });
  }
});
