import * as fs from 'fs';
import * as path from 'path';
import { TSOCI } from './tsoci';
import { HOST_DEFAULT_ROOT } from './leaks';
import { removeNewCgroups, runCmd, unmountUnder, type CmdResult } from './clients';

// podman with a private store, run root and tmpdir under a test's temp dir and the
// containers.conf of /work/shared/CLIENTS.md (podman, podman-checkpoint).

/** podman with --runtime tsoci and everything under dir(); dir and env are read at each call. */
export function privatePodman(dir: () => string, env: () => NodeJS.ProcessEnv, defaultTimeoutMs: number) {
  return (args: string[], timeoutMs = defaultTimeoutMs): CmdResult =>
    runCmd('podman', [
      '--root', path.join(dir(), 'root'), '--runroot', path.join(dir(), 'runroot'), '--tmpdir', path.join(dir(), 'tmp'),
      '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', '--runtime', 'tsoci',
      ...args,
    ], { env: env(), timeoutMs });
}

/** Writes dir/containers.conf naming tsoci as a runtime; returns its path (for CONTAINERS_CONF). */
export function writeContainersConf(dir: string): string {
  const conf = path.join(dir, 'containers.conf');
  fs.writeFileSync(conf, [
    '[containers]',
    // rootful defaults exceed the open-files hard limit of these hosts (no CAP_SYS_RESOURCE)
    'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
    '[engine]',
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    // podman passes --log-format=json --log <oci-log> only to runtimes named here (by basename)
    'runtime_supports_json = ["crun", "runc", "tsoci"]',
    'runtime_supports_nocgroups = ["crun", "tsoci"]',
    '[engine.runtimes]',
    `tsoci = ["${TSOCI}"]`,
    '',
  ].join('\n'));
  return conf;
}

/**
 * conmon calls tsoci without --root: state and the seccomp filter cache go to the host's
 * default root, which a podman suite must leave as it found it. This is what it held before.
 */
export function hostDefaultRootEntries(): Set<string> {
  return new Set(fs.existsSync(HOST_DEFAULT_ROOT) ? [HOST_DEFAULT_ROOT, ...fs.readdirSync(HOST_DEFAULT_ROOT)] : []);
}

/**
 * Removes every container, dir, and what appeared in the host's default root since
 * `hostRootBefore`; returns the new libpod cgroups that could not be removed.
 */
export function removePodmanLeftovers(podman: (args: string[]) => CmdResult, dir: string, hostRootBefore: Set<string>, cgroupsBefore: Set<string>): string[] {
  podman(['rm', '-a', '-f', '-t', '0']);
  unmountUnder(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  for (const name of fs.existsSync(HOST_DEFAULT_ROOT) ? fs.readdirSync(HOST_DEFAULT_ROOT) : []) {
    if (!hostRootBefore.has(name)) fs.rmSync(path.join(HOST_DEFAULT_ROOT, name), { recursive: true, force: true });
  }
  if (!hostRootBefore.has(HOST_DEFAULT_ROOT)) fs.rmSync(HOST_DEFAULT_ROOT, { recursive: true, force: true });
  // podman's cgroupfs manager leaves libpod_parent/ (and conmon's cgroup) behind
  return removeNewCgroups(cgroupsBefore, (d) => /\/libpod_parent(\/|$)/.test(d));
}
