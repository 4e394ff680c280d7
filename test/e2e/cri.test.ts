import { spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TSOCI } from '../helpers/tsoci';
import { readCg } from '../helpers/cgroups';
import { containerdBaseConfig, startContainerd, stopContainerd } from '../helpers/containerd-daemon';
import { BUILDAH, commitBusyboxImage, privateBuildah, pushOciArchive } from '../helpers/buildah';
import { cgroupDirs, removeNewCgroups, runCmd, unmountUnder, which } from '../helpers/clients';
import { criClient, type CriClient, type Msg } from '../helpers/cri';

// Kubernetes' path to a runtime: containerd 1.6's CRI plugin, driven over gRPC the way the
// kubelet does (CRI v1, runtime.v1), with a runtime handler "tsoci" (io.containerd.runc.v2,
// BinaryName = tsoci, Root in our temp dir). A private containerd (root, state, sockets,
// CNI config under a temp dir); the image (also the sandbox image) is a busybox rootfs
// committed by buildah and imported with ctr, no registry. Pods use the host's network
// (NODE) except the namespace-sharing one, which gets a netns from a CNI bridge with no
// gateway and no masquerade: nothing leaves the machine.
const HAVE = which('containerd') && which('ctr') && which('containerd-shim-runc-v2') && BUILDAH && fs.existsSync('/usr/lib/cni/bridge') && fs.existsSync('/usr/lib/cni/host-local');
if (!HAVE) process.stdout.write('cri.test.ts: SKIPPED — needs containerd, buildah and the CNI bridge/host-local plugins (apt-get install containerd buildah containernetworking-plugins)\n');
const describeIfCri = HAVE ? describe : describe.skip;

const IMAGE = 'localhost/tsoci-busybox:test';
const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeIfCri('Kubernetes CRI (containerd 1.6 CRI plugin) with the runtime handler tsoci', () => {
  let dir: string;
  let sock: string;
  let stateRoot: string;
  let daemon: ChildProcess | undefined;
  let daemonLog: string;
  let cri: CriClient;
  let cgroupsBefore: Set<string>;
  let runContainerdBefore: boolean;
  let varLibCniBefore: boolean;
  let netnsBefore: Set<string>;
  const cgroupParent = `tsoci-cri-${process.pid}`;
  // a bridge name (15 chars at most) and a subnet of our own
  const bridge = `tcri${process.pid % 100000}`;
  const subnet = `10.${200 + (process.pid % 50)}.${process.pid % 250}.0/24`;
  const sandboxes: string[] = [];

  const rt = (m: string, req: Msg, timeoutMs?: number) => cri.runtime(m, req, timeoutMs);
  const podConfig = (name: string, network: 'NODE' | 'POD') => ({
    metadata: { name, uid: `${name}-${process.pid}`, namespace: 'tsoci-test', attempt: 0 },
    // a host-network pod shares the host's UTS namespace: no hostname of its own
    hostname: network === 'NODE' ? '' : name,
    log_directory: path.join(dir, 'logs', name),
    linux: { cgroup_parent: `/${cgroupParent}`, security_context: { namespace_options: { network, pid: 'CONTAINER', ipc: 'POD' } } },
  });
  async function runPod(name: string, network: 'NODE' | 'POD' = 'NODE'): Promise<{ id: string; config: Msg }> {
    const config = podConfig(name, network);
    const r = await rt('RunPodSandbox', { config, runtime_handler: 'tsoci' });
    sandboxes.push(r.pod_sandbox_id);
    return { id: r.pod_sandbox_id, config };
  }
  async function removePod(id: string): Promise<void> {
    await rt('StopPodSandbox', { pod_sandbox_id: id });
    await rt('RemovePodSandbox', { pod_sandbox_id: id });
    sandboxes.splice(sandboxes.indexOf(id), 1);
  }
  async function startContainer(pod: { id: string; config: Msg }, name: string, command: string[], resources?: Msg): Promise<string> {
    const config = {
      metadata: { name, attempt: 0 },
      image: { image: IMAGE },
      command,
      log_path: `${name}.log`,
      linux: { resources: resources ?? {}, security_context: { namespace_options: pod.config.linux.security_context.namespace_options } },
    };
    const c = await rt('CreateContainer', { pod_sandbox_id: pod.id, config, sandbox_config: pod.config });
    await rt('StartContainer', { container_id: c.container_id });
    return c.container_id;
  }
  const status = async (id: string) => (await rt('ContainerStatus', { container_id: id })).status;
  async function waitExited(id: string, timeoutMs = 15000): Promise<Msg> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const s = await status(id);
      if (s.state === 'CONTAINER_EXITED') return s;
      if (Date.now() > end) throw new Error(`${id} did not exit: ${JSON.stringify(s)}`);
      await sleep(100);
    }
  }
  /** tsoci's own record of a container: state under the handler's Root, for namespace k8s.io. */
  const tsociState = (id: string) => {
    const r = runCmd(TSOCI, ['--root', stateRoot, 'state', id]);
    if (r.status !== 0) throw new Error(`tsoci state ${id}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  const cgroupOf = (id: string, ctrl: string) => JSON.parse(fs.readFileSync(path.join(stateRoot, id, 'state.json'), 'utf8')).cgroupPaths[ctrl] as string;
  const execSync = (id: string, cmd: string[]) => rt('ExecSync', { container_id: id, cmd, timeout: 20 });

  beforeAll(async () => {
    cgroupsBefore = cgroupDirs();
    varLibCniBefore = fs.existsSync('/var/lib/cni');
    runContainerdBefore = fs.existsSync('/run/containerd');
    netnsBefore = new Set(fs.existsSync('/var/run/netns') ? fs.readdirSync('/var/run/netns') : []);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-cri-'));
    fs.chmodSync(dir, 0o755);
    sock = path.join(dir, 'containerd.sock');
    const handlerRoot = path.join(dir, 'tsoci-root');
    stateRoot = path.join(handlerRoot, 'k8s.io');
    daemonLog = path.join(dir, 'containerd.log');

    // the image, offline: busybox rootfs → buildah commit → OCI archive
    const b = privateBuildah(path.join(dir, 'buildah'));
    commitBusyboxImage(b, IMAGE, ['/bin/sleep', '2147483647']);
    pushOciArchive(b, IMAGE, path.join(dir, 'image.tar'), IMAGE);
    fs.rmSync(path.join(dir, 'buildah'), { recursive: true, force: true });

    fs.mkdirSync(path.join(dir, 'cni'));
    fs.writeFileSync(path.join(dir, 'cni', '10-tsoci-test.conflist'), JSON.stringify({
      cniVersion: '1.0.0',
      name: `tsoci-cri-${process.pid}`,
      plugins: [
        // no gateway, no masquerade, no route: the pod reaches nothing beyond the bridge
        { type: 'bridge', bridge, isGateway: false, ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir: path.join(dir, 'cni-ipam') } },
      ],
    }));
    const criSection = 'plugins."io.containerd.grpc.v1.cri"';
    daemon = await startContainerd(dir, sock, daemonLog, [
      ...containerdBaseConfig(dir, sock),
      `[${criSection}]`,
      `  sandbox_image = "${IMAGE}"`,
      // no CAP_SYS_RESOURCE here: the sandbox's oom_score_adj -998 would be refused
      '  restrict_oom_score_adj = true',
      '  stream_server_address = "127.0.0.1"',
      '  stream_server_port = "0"',
      // pod netns under our state dir, not /var/run/netns
      '  netns_mounts_under_state_dir = true',
      `[${criSection}.containerd]`,
      '  snapshotter = "native"',
      '  default_runtime_name = "tsoci"',
      `[${criSection}.containerd.runtimes.tsoci]`,
      '  runtime_type = "io.containerd.runc.v2"',
      `[${criSection}.containerd.runtimes.tsoci.options]`,
      `  BinaryName = "${TSOCI}"`,
      `  Root = "${handlerRoot}"`,
      `[${criSection}.cni]`,
      '  bin_dir = "/usr/lib/cni"',
      `  conf_dir = "${dir}/cni"`,
    ], { timeoutMs: 30000 });
    const imp = runCmd('ctr', ['--address', sock, '-n', 'k8s.io', 'images', 'import', '--snapshotter', 'native', path.join(dir, 'image.tar')]);
    if (imp.status !== 0) throw new Error(`ctr images import: ${imp.stderr}`);
    cri = criClient(sock);
    // the CRI plugin refuses a bad config by not serving at all: say why
    await cri.runtime('Version', { version: 'v1' }, 10000).catch((e) => {
      throw new Error(`${e.message}\n${fs.readFileSync(daemonLog, 'utf8').split('\n').filter((l) => /level=(error|warning)/.test(l)).join('\n')}`);
    });
  }, 180000);

  afterAll(async () => {
    if (!dir) return;
    if (cri) {
      for (const id of [...sandboxes]) {
        await rt('StopPodSandbox', { pod_sandbox_id: id }).catch(() => undefined);
        await rt('RemovePodSandbox', { pod_sandbox_id: id }).catch(() => undefined);
      }
      cri.close();
    }
    await stopContainerd(daemon);
    // shims that outlived a failed test name our dir in their argv
    for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)) {
      try {
        if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const ns of fs.existsSync('/var/run/netns') ? fs.readdirSync('/var/run/netns') : []) {
      if (netnsBefore.has(ns) || !ns.startsWith('cni-')) continue;
      spawnSync('umount', ['-l', path.join('/var/run/netns', ns)]);
      fs.rmSync(path.join('/var/run/netns', ns), { force: true });
    }
    spawnSync('ip', ['link', 'del', bridge]);
    if (!varLibCniBefore) fs.rmSync('/var/lib/cni', { recursive: true, force: true });
    // the shims' sockets (/run/containerd/s) and fifos go there whatever containerd's state dir
    if (!runContainerdBefore) fs.rmSync('/run/containerd', { recursive: true, force: true });
    unmountUnder(dir);
    fs.rmSync(dir, { recursive: true, force: true });
    expect(removeNewCgroups(cgroupsBefore, (d) => d.includes(`/${cgroupParent}`))).toEqual([]);
  }, 60000);

  test('Version; the imported image is known', async () => {
    const v = await rt('Version', { version: 'v1' });
    expect(v.runtime_name).toBe('containerd');
    expect(v.runtime_api_version).toBe('v1');
    const img = await cri.image('ImageStatus', { image: { image: IMAGE } });
    expect(img.image?.repo_tags).toContain(IMAGE);
  });

  test('a pod: RunPodSandbox → Create/StartContainer → status → ExecSync → stats → StopContainer (grace period) → remove', async () => {
    const pod = await runPod('lifecycle');
    const ps = await rt('PodSandboxStatus', { pod_sandbox_id: pod.id });
    expect(ps.status.state).toBe('SANDBOX_READY');
    expect(ps.status.runtime_handler).toBe('tsoci');
    // the sandbox ("pause") container is tsoci's
    expect(tsociState(pod.id).status).toBe('running');

    const id = await startContainer(pod, 'main', ['/bin/sh', '-c', 'trap "echo got-term" TERM; echo started; while true; do sleep 0.1; done']);
    const running = await status(id);
    expect(running.state).toBe('CONTAINER_RUNNING');
    expect(Number(running.started_at)).toBeGreaterThan(0);
    const st = tsociState(id);
    expect(st.status).toBe('running');
    expect(fs.readFileSync(`/proc/${st.pid}/cmdline`, 'utf8')).toContain('while true; do sleep 0.1; done');

    const e = await execSync(id, ['/bin/sh', '-c', 'echo out; echo err >&2; exit 4']);
    expect(Buffer.from(e.stdout).toString()).toBe('out\n');
    expect(Buffer.from(e.stderr).toString()).toBe('err\n');
    expect(e.exit_code).toBe(4);

    const stats = (await rt('ContainerStats', { container_id: id })).stats;
    expect(stats.attributes.id).toBe(id);
    expect(Number(stats.cpu.usage_core_nano_seconds.value)).toBeGreaterThan(0);
    expect(Number(stats.memory.working_set_bytes.value)).toBeGreaterThan(0);

    // TERM is caught and ignored: the KILL comes when the 2 s grace period is over
    const t0 = Date.now();
    await rt('StopContainer', { container_id: id, timeout: 2 });
    const ms = Date.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(2000);
    expect(ms).toBeLessThan(10000);
    const stopped = await status(id);
    expect(stopped.state).toBe('CONTAINER_EXITED');
    expect(stopped.exit_code).toBe(137);
    expect(fs.readFileSync(path.join(dir, 'logs', 'lifecycle', 'main.log'), 'utf8')).toMatch(/stdout F started\n(.|\n)*stdout F got-term\n/);

    // a container that ends by itself: exited, with its code
    const short = await startContainer(pod, 'short', ['/bin/sh', '-c', 'exit 3']);
    const s = await waitExited(short);
    expect(s.exit_code).toBe(3);

    for (const c of [id, short]) await rt('RemoveContainer', { container_id: c });
    await expect(status(id)).rejects.toThrow(/NotFound|NOT_FOUND/);
    expect(fs.existsSync(path.join(stateRoot, id))).toBe(false);
    await removePod(pod.id);
    expect(fs.existsSync(path.join(stateRoot, pod.id))).toBe(false);
  });

  test('resource limits reach the container cgroup', async () => {
    const pod = await runPod('limits');
    try {
      const id = await startContainer(pod, 'limited', ['/bin/sleep', '600'], {
        cpu_period: 100000, cpu_quota: 50000, cpu_shares: 256, memory_limit_in_bytes: 64 * MiB,
      });
      expect(readCg(cgroupOf(id, 'cpu'), 'cpu.cfs_quota_us')).toBe('50000');
      expect(readCg(cgroupOf(id, 'cpu'), 'cpu.cfs_period_us')).toBe('100000');
      expect(readCg(cgroupOf(id, 'cpu'), 'cpu.shares')).toBe('256');
      expect(readCg(cgroupOf(id, 'memory'), 'memory.limit_in_bytes')).toBe(String(64 * MiB));
      // under the pod's cgroup parent, as the kubelet asks
      expect(cgroupOf(id, 'memory')).toContain(`/${cgroupParent}/`);
      await rt('StopContainer', { container_id: id, timeout: 0 });
      await rt('RemoveContainer', { container_id: id });
    } finally {
      await removePod(pod.id);
    }
  });

  test('two containers of a pod share its network and IPC namespaces (a CNI bridge netns)', async () => {
    const pod = await runPod('shared', 'POD');
    try {
      const a = await startContainer(pod, 'a', ['/bin/sleep', '600']);
      const b = await startContainer(pod, 'b', ['/bin/sleep', '600']);
      const ns = async (id: string) => Buffer.from((await execSync(id, ['/bin/sh', '-c', 'for n in net ipc pid; do readlink /proc/self/ns/$n; done'])).stdout).toString().trim().split('\n');
      const [na, nb] = [await ns(a), await ns(b)];
      const sandboxPid = tsociState(pod.id).pid;
      const sandboxNs = ['net', 'ipc'].map((n) => fs.readlinkSync(`/proc/${sandboxPid}/ns/${n}`));
      expect(na.slice(0, 2)).toEqual(sandboxNs);
      expect(nb.slice(0, 2)).toEqual(sandboxNs);
      expect(sandboxNs[0]).not.toBe(fs.readlinkSync('/proc/self/ns/net'));
      expect(sandboxNs[1]).not.toBe(fs.readlinkSync('/proc/self/ns/ipc'));
      // pid namespaces are per container (namespace_options.pid = CONTAINER)
      expect(na[2]).not.toBe(nb[2]);
      for (const c of [a, b]) {
        await rt('StopContainer', { container_id: c, timeout: 0 });
        await rt('RemoveContainer', { container_id: c });
      }
    } finally {
      await removePod(pod.id);
    }
  });

  test('failures: a container exiting 1 is reported exited with 1; a missing binary fails StartContainer with tsoci\'s error', async () => {
    const pod = await runPod('failing');
    try {
      const id = await startContainer(pod, 'crash', ['/bin/sh', '-c', 'echo crashing >&2; exit 1']);
      const s = await waitExited(id);
      expect(s.exit_code).toBe(1);
      expect(s.reason).toBe('Error');
      await rt('RemoveContainer', { container_id: id });

      const c = await rt('CreateContainer', {
        pod_sandbox_id: pod.id,
        config: { metadata: { name: 'missing' }, image: { image: IMAGE }, command: ['/bin/no-such-binary'], log_path: 'missing.log', linux: { security_context: { namespace_options: pod.config.linux.security_context.namespace_options } } },
        sandbox_config: pod.config,
      });
      await expect(rt('StartContainer', { container_id: c.container_id })).rejects.toThrow(/\/bin\/no-such-binary.*no such file or directory/);
      await rt('RemoveContainer', { container_id: c.container_id });
      expect(fs.readdirSync(stateRoot).filter((n) => n !== '.seccomp-cache')).toEqual([pod.id]);
    } finally {
      await removePod(pod.id);
    }
  });
});
