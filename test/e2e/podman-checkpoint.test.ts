import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeRootfs } from '../helpers/rootfs';
import { hostDefaultRootEntries, privatePodman, removePodmanLeftovers, writeContainersConf } from '../helpers/podman-private';
import { findTestCriu } from '../helpers/criu';
import { cgroupDirs, waitUntil, which } from '../helpers/clients';

// podman 4.x `container checkpoint` / `container restore` with --runtime tsoci: podman finds
// criu in $PATH (a directory holding a link to the CRIU tsoci uses), conmon runs
// `tsoci restore --detach ...` with its pipes as stdio. Set-up as in podman.test.ts.
const PODMAN = which('podman');
const CRIU = findTestCriu();
const skip = !PODMAN ? 'podman is not installed' : !CRIU.path ? CRIU.reason : undefined;
if (skip) process.stdout.write(`podman-checkpoint.test.ts: SKIPPED — ${skip}\n`);
const describeIf = skip ? describe.skip : describe;

describeIf('podman container checkpoint / restore --runtime tsoci', () => {
  let dir: string;
  let rootfs: string;
  let env: NodeJS.ProcessEnv;
  let cgroupsBefore: Set<string>;
  let hostRootBefore: Set<string>;

  const podman = privatePodman(() => dir, () => env, 90000);
  const inspect = (name: string, fmt: string) => podman(['inspect', '-f', fmt, name]).stdout.trim();
  const logs = (name: string) => podman(['logs', name]).stdout;
  const lastTick = (name: string) => Math.max(0, ...[...logs(name).matchAll(/tick(\d+)/g)].map((m) => Number(m[1])));

  beforeAll(() => {
    hostRootBefore = hostDefaultRootEntries();
    cgroupsBefore = cgroupDirs();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-podman-cr-'));
    fs.chmodSync(dir, 0o755);
    rootfs = makeRootfs(path.join(dir, 'rootfs'));
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.symlinkSync(CRIU.path!, path.join(bin, 'criu'));
    const conf = writeContainersConf(dir);
    env = { ...process.env, CONTAINERS_CONF: conf, PATH: `${bin}:${process.env.PATH}` };
  });

  afterAll(() => {
    if (!dir) return;
    const stuck = removePodmanLeftovers(podman, dir, hostRootBefore, cgroupsBefore);
    expect(stuck).toEqual([]);
  });

  test('checkpoint stops the container, restore brings it back counting on; checkpoint --leave-running --export', () => {
    const run = podman(['run', '-d', '--network', 'none', '--name', 'counter', '--rootfs', rootfs,
      '/bin/sh', '-c', 'i=0; while true; do i=$((i+1)); echo tick$i; sleep 0.1; done']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    waitUntil(() => lastTick('counter') >= 3, 15000, 'ticks');

    const cp = podman(['container', 'checkpoint', 'counter']);
    expect(cp.stderr).toBe('');
    expect(cp.status).toBe(0);
    expect(inspect('counter', '{{.State.Status}}')).toBe('exited');
    expect(inspect('counter', '{{.State.Checkpointed}}')).toBe('true');
    const at = lastTick('counter');

    const rs = podman(['container', 'restore', 'counter']);
    expect(rs.stderr).toBe('');
    expect(rs.status).toBe(0);
    expect(inspect('counter', '{{.State.Status}}')).toBe('running');
    waitUntil(() => lastTick('counter') > at + 2, 15000, 'ticks after restore');
    // the numbers go on from the checkpoint: no second tick1 in the log
    expect(logs('counter').match(/tick1\n/g)?.length).toBe(1);

    // --leave-running, exported to a tarball (podman 4.3 cannot --import a --rootfs container:
    // "repository name must have at least one component", with runc too)
    const tar = path.join(dir, 'counter.tar.gz');
    const ex = podman(['container', 'checkpoint', '--leave-running', '--export', tar, 'counter']);
    expect(ex.stderr).toBe('');
    expect(ex.status).toBe(0);
    expect(inspect('counter', '{{.State.Status}}')).toBe('running');
    expect(fs.statSync(tar).size).toBeGreaterThan(0);
    const still = lastTick('counter');
    waitUntil(() => lastTick('counter') > still, 15000, 'ticks after --leave-running');
    expect(podman(['rm', '-f', '-t', '0', 'counter']).status).toBe(0);
  });
});
