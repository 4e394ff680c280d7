// `docker run --rm` and `podman run --rm` of busybox `true`, with tsoci (cold and warm,
// through wrappers: bench/pool.mjs) and runc as the runtime, alternating run by run. Each
// manager is private to the bench (its own data, exec root, no network); skipped with the
// reason printed when it is not installed or does not start.
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : NaN; };
const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

function timed(cmd, args, env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 60000 });
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, ok: r.status === 0, err: (r.stderr || String(r.error ?? '')).trim() };
}

/** runtimes: {label: path}; returns {rows: [{name, values}], notes: [..]} */
export async function benchManagers(work, rootfs, runtimes, runs) {
  const rows = [];
  const notes = [];
  const tar = path.join(work, 'busybox.tar');
  spawnSync('tar', ['-C', rootfs, '-cf', tar, '.']);
  for (const [name, fn] of [['docker run --rm busybox true', dockerBench], ['podman run --rm busybox true', podmanBench]]) {
    try {
      const r = await fn(work, rootfs, tar, runtimes, runs);
      if (typeof r === 'string') notes.push(`${name}: skipped: ${r}`);
      else {
        rows.push({ name, values: r.values });
        for (const [rt, n] of Object.entries(r.failures)) if (n) notes.push(`${name}: ${n} failed run(s) with ${rt}: ${r.lastError[rt]}`);
      }
    } catch (err) {
      notes.push(`${name}: skipped: ${err.message}`);
    }
  }
  return { rows, notes };
}

function alternate(runtimes, runs, once) {
  const samples = Object.fromEntries(Object.keys(runtimes).map((k) => [k, []]));
  const failures = {};
  const lastError = {};
  for (let i = -1; i < runs; i++) {
    for (const rt of Object.keys(runtimes)) {
      const r = once(rt);
      if (!r.ok) {
        failures[rt] = (failures[rt] ?? 0) + 1;
        lastError[rt] = r.err.split('\n').pop();
      } else if (i >= 0) samples[rt].push(r.ms);
    }
  }
  return { values: Object.fromEntries(Object.keys(runtimes).map((k) => [k, median(samples[k])])), failures, lastError };
}

const TMPFS_MAGIC = 0x01021994;
/**
 * The managers' cgroup parent, children first, in every hierarchy. A controller that is not
 * mounted (hugetlb left on cgroup v2 here) gets plain directories on /sys/fs/cgroup's tmpfs,
 * with conmon's `tasks` file in them: those are removed as files.
 */
function removeCgroups(name) {
  const found = spawnSync('find', ['/sys/fs/cgroup', '-depth', '-type', 'd', '-path', `*/${name}*`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  for (const d of found) {
    try {
      if (fs.statfsSync(d).type === TMPFS_MAGIC) fs.rmSync(d, { recursive: true, force: true });
      else fs.rmdirSync(d);
    } catch {
      /* busy: a process still in it */
    }
  }
}

/** dockerd reserves "runc" (its built-in entry): every bench runtime gets a name of its own */
const dockerName = (rt) => `bench-${rt.replace(/\W+/g, '-')}`;

async function dockerBench(work, rootfs, tar, runtimes, runs) {
  if (!have('dockerd') || !have('docker')) return 'dockerd or docker is not installed (scripts/setup.sh installs docker.io)';
  const dir = path.join(work, 'docker');
  fs.mkdirSync(dir, { recursive: true });
  const sock = path.join(dir, 'docker.sock');
  const env = { ...process.env, DOCKER_CONFIG: path.join(dir, 'client') };
  fs.writeFileSync(path.join(dir, 'daemon.json'), JSON.stringify({
    runtimes: Object.fromEntries(Object.entries(runtimes).map(([k, p]) => [dockerName(k), { path: p }])),
    'deprecated-key-path': path.join(dir, 'key.json'),
  }));
  const log = fs.openSync(path.join(dir, 'dockerd.log'), 'w');
  const daemon = spawn('dockerd', ['--config-file', path.join(dir, 'daemon.json'), '--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec'),
    '--pidfile', path.join(dir, 'docker.pid'), '-H', `unix://${sock}`, '--iptables=false', '--ip6tables=false', '--ip-forward=false', '--ip-masq=false',
    '--bridge=none', '--userland-proxy=false', '--storage-driver', 'vfs', '--exec-opt', 'native.cgroupdriver=cgroupfs', '--cgroup-parent', '/tsoci-bench-docker'],
  { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const docker = (args) => timed('docker', ['-H', `unix://${sock}`, ...args], env);
  const runDockerBefore = fs.existsSync('/run/docker');
  const runContainerdBefore = fs.existsSync('/run/containerd');
  try {
    const end = Date.now() + 60000;
    while (!docker(['version']).ok) {
      if (Date.now() > end || daemon.exitCode !== null) return `dockerd did not start: ${fs.readFileSync(path.join(dir, 'dockerd.log'), 'utf8').trim().split('\n').pop()}`;
      await new Promise((r) => setTimeout(r, 200));
    }
    const imp = docker(['import', tar, 'tsoci-bench-busybox']);
    if (!imp.ok) return `docker import: ${imp.err}`;
    return alternate(runtimes, runs, (rt) => docker(['run', '--rm', '--network', 'none', '--runtime', dockerName(rt), 'tsoci-bench-busybox', '/bin/true']));
  } finally {
    if (daemon.exitCode === null && daemon.signalCode === null) {
      const exited = new Promise((r) => daemon.once('exit', r));
      daemon.kill('SIGTERM');
      let timer;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 20000)))]);
      clearTimeout(timer);
      if (daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
    }
    spawnSync('sh', ['-c', `grep -o " ${dir}[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l`]);
    fs.rmSync(dir, { recursive: true, force: true });
    if (!runDockerBefore) fs.rmSync('/run/docker', { recursive: true, force: true });
    if (!runContainerdBefore) fs.rmSync('/run/containerd', { recursive: true, force: true });
    removeCgroups('tsoci-bench-docker');
  }
}

async function podmanBench(work, rootfs, tar, runtimes, runs) {
  if (!have('podman') || !have('conmon')) return 'podman or conmon is not installed (scripts/setup.sh installs them)';
  const dir = path.join(work, 'podman');
  fs.mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, 'containers.conf');
  fs.writeFileSync(conf, ['[containers]', 'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]', '[engine]', 'cgroup_manager = "cgroupfs"', 'events_logger = "file"',
    'runtime_supports_json = ["crun", "runc", "tsoci"]', '[engine.runtimes]', ...Object.entries(runtimes).map(([k, p]) => `${k.replace(/\W+/g, '_')} = ["${p}"]`), ''].join('\n'));
  const env = { ...process.env, CONTAINERS_CONF: conf };
  const podman = (args) => timed('podman', ['--root', path.join(dir, 'root'), '--runroot', path.join(dir, 'runroot'), '--tmpdir', path.join(dir, 'tmp'),
    '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', ...args], env);
  try {
    // each runtime's state under the bench's dir (conmon would use the host's default root), a cgroup parent of the bench's own
    return alternate(runtimes, runs, (rt) => podman(['--runtime', rt.replace(/\W+/g, '_'), '--runtime-flag', `root=${path.join(dir, 'state', rt.replace(/\W+/g, '_'))}`,
      'run', '--rm', '--network', 'none', '--cgroup-parent', '/tsoci-bench-podman', '--rootfs', rootfs, '/bin/true']));
  } finally {
    podman(['rm', '-a', '-f', '-t', '0']);
    spawnSync('sh', ['-c', `grep -o " ${dir}[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l`]);
    fs.rmSync(dir, { recursive: true, force: true });
    removeCgroups('tsoci-bench-podman');
  }
}
