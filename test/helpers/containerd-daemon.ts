import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { TSOCI } from './tsoci';
import { runCmd, sleepMs, waitUntil, type CmdResult } from './clients';

// A private containerd for a test file: root, state, sockets and opt under the test's temp
// dir, started by beforeAll and stopped by afterAll (containerd, containerd-checkpoint, cri).

/** config.toml lines every private containerd shares; callers append their plugin sections. */
export function containerdBaseConfig(dir: string, sock: string): string[] {
  return [
    'version = 2',
    `root = "${dir}/root"`,
    `state = "${dir}/state"`,
    '[grpc]',
    `  address = "${sock}"`,
    '[ttrpc]',
    `  address = "${dir}/containerd.ttrpc.sock"`,
    '[debug]',
    '  address = ""',
    '[metrics]',
    '  address = ""',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = "${dir}/opt"`,
  ];
}

/** The base config with the CRI plugin disabled (ctr-only tests). */
export function containerdNoCriConfig(dir: string, sock: string): string[] {
  const lines = containerdBaseConfig(dir, sock);
  lines.splice(3, 0, 'disabled_plugins = ["io.containerd.grpc.v1.cri"]');
  return lines;
}

/**
 * Writes dir/config.toml, starts containerd with its output in `log`, and waits until
 * `ctr version` answers on `sock`; throws with the log if it exits or does not answer in time.
 */
export async function startContainerd(dir: string, sock: string, log: string, config: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ChildProcess> {
  fs.writeFileSync(path.join(dir, 'config.toml'), [...config, ''].join('\n'));
  const logFd = fs.openSync(log, 'w');
  const daemon = spawn('containerd', ['--config', path.join(dir, 'config.toml')], { stdio: ['ignore', logFd, logFd], env: opts.env ?? process.env });
  fs.closeSync(logFd);
  const end = Date.now() + (opts.timeoutMs ?? 20000);
  while (runCmd('ctr', ['--address', sock, 'version'], { timeoutMs: 5000 }).status !== 0) {
    if (Date.now() > end || daemon.exitCode !== null) throw new Error(`containerd did not start:\n${fs.readFileSync(log, 'utf8')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return daemon;
}

/** SIGTERM, up to 10 s for it to exit, then SIGKILL. */
export async function stopContainerd(daemon: ChildProcess | undefined): Promise<void> {
  if (!daemon || daemon.exitCode !== null) return;
  const exited = new Promise((r) => daemon.once('exit', r));
  daemon.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10000).unref())]);
  if (daemon.exitCode === null) daemon.kill('SIGKILL');
}

/**
 * ctr in namespace tsoci against a private containerd; `where` is read at each call (the
 * test file sets sock, runcRoot and rootfs in beforeAll).
 */
export function ctrTools(where: () => { sock: string; runcRoot: string; rootfs: string }) {
  const ctr = (args: string[], timeoutMs = 60000): CmdResult => runCmd('ctr', ['--address', where().sock, '-n', 'tsoci', ...args], { timeoutMs });
  /** ctr run with tsoci; opts go before the rootfs and id. */
  const run = (opts: string[], id: string, cmd: string[]) =>
    ctr(['run', '--runc-binary', TSOCI, '--runc-root', where().runcRoot, ...opts, '--rootfs', where().rootfs, id, ...cmd]);
  const taskStatus = (id: string) => {
    const line = ctr(['task', 'ls']).stdout.split('\n').find((l) => l.split(/\s+/)[0] === id);
    return line?.trim().split(/\s+/)[2];
  };
  const removeTask = (id: string) => {
    ctr(['task', 'kill', '-a', '-s', 'SIGKILL', id]);
    waitUntil(() => taskStatus(id) !== 'RUNNING' && taskStatus(id) !== 'PAUSED', 10000, `${id} stopped`);
    ctr(['task', 'delete', id]);
    ctr(['container', 'delete', id]);
  };
  /** whatever a failed test left: tasks, then containers */
  const removeLeftovers = () => {
    for (const id of ctr(['container', 'ls', '-q']).stdout.split('\n').filter(Boolean)) {
      ctr(['task', 'kill', '-a', '-s', 'SIGKILL', id]);
      sleepMs(200);
      ctr(['task', 'delete', '-f', id]);
      ctr(['container', 'delete', id]);
    }
  };
  return { ctr, run, taskStatus, removeTask, removeLeftovers };
}
