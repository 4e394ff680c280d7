import * as fs from 'fs';
import * as path from 'path';
import { makeRootfs } from './rootfs';
import { runCmd, which, type CmdResult } from './clients';

// buildah with private storage under one directory (vfs driver: no mounts, nothing in
// /var/lib/containers), for the buildah test and for making images offline (the CRI test).

export const BUILDAH = which('buildah');

export interface Buildah {
  (args: string[], opts?: { timeoutMs?: number; env?: NodeJS.ProcessEnv }): CmdResult;
  /** the directory holding the storage (root, runroot) and buildah's TMPDIR */
  dir: string;
}

/** A buildah command line bound to storage under `dir`; its temp files (bundles) go to dir/tmp. */
export function privateBuildah(dir: string): Buildah {
  fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  const env = { ...process.env, TMPDIR: path.join(dir, 'tmp') };
  const b = ((args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}) =>
    runCmd(BUILDAH!, ['--root', path.join(dir, 'root'), '--runroot', path.join(dir, 'runroot'), '--storage-driver', 'vfs', ...args], {
      env: { ...env, ...opts.env },
      timeoutMs: opts.timeoutMs ?? 120000,
    })) as Buildah;
  b.dir = dir;
  return b;
}

function check(r: CmdResult, what: string): string {
  if (r.status !== 0) throw new Error(`buildah ${what} failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * Commits a busybox-static rootfs (test/helpers/rootfs.ts, plus `extra` files) as the
 * image `name` (e.g. localhost/tsoci-busybox) in buildah's storage, with `cmd` as its
 * command. No registry, no network.
 */
export function commitBusyboxImage(b: Buildah, name: string, cmd: string[], extra: Record<string, string> = {}): void {
  const rootfs = makeRootfs(path.join(b.dir, `rootfs-${name.replace(/[^A-Za-z0-9]/g, '_')}`));
  for (const [file, text] of Object.entries(extra)) fs.writeFileSync(path.join(rootfs, file), text);
  const c = check(b(['from', 'scratch']), 'from scratch');
  try {
    check(b(['add', c, `${rootfs}/`, '/']), 'add');
    check(b(['config', '--cmd', JSON.stringify(cmd), c]), 'config');
    check(b(['commit', '-q', '--format', 'oci', c, name]), 'commit');
  } finally {
    b(['rm', c]);
    fs.rmSync(rootfs, { recursive: true, force: true });
  }
}

/** Writes the image to an OCI image tarball named `ref` inside (what `ctr images import` reads). */
export function pushOciArchive(b: Buildah, name: string, file: string, ref: string): void {
  check(b(['push', '-q', name, `oci-archive:${file}:${ref}`]), 'push');
}
