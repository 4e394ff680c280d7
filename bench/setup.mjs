// Host preparation and bundles for the benchmark.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { fileURLToPath } from 'url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Installs runc, crun, busybox-static and GNU time when missing; lets crun run on a hybrid host. */
export function ensureHost() {
  const need = ['runc', 'crun', 'busybox-static', 'time'].filter((p) => spawnSync('dpkg', ['-s', p], { stdio: 'ignore' }).status !== 0);
  if (need.length) {
    console.error(`installing ${need.join(' ')}`);
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-qq', ...need], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  // crun refuses a hybrid host while a controller (hugetlb here) is free on the v2 side;
  // binding it to a v1 hierarchy is what an administrator of such a host would do.
  const v2 = '/sys/fs/cgroup/unified/cgroup.controllers';
  if (fs.existsSync(v2) && fs.readFileSync(v2, 'utf8').trim() !== '') {
    for (const c of fs.readFileSync(v2, 'utf8').trim().split(/\s+/)) {
      const mp = `/sys/fs/cgroup/${c}`;
      console.error(`binding the ${c} controller to cgroup v1 at ${mp} so crun accepts this hybrid host`);
      fs.mkdirSync(mp, { recursive: true });
      // already bound elsewhere (or refused): crun then reports what it dislikes, the rest runs
      const r = spawnSync('mount', ['-t', 'cgroup', '-o', c, 'cgroup', mp], { encoding: 'utf8' });
      if (r.status !== 0) console.error(`  mount failed (${r.stderr.trim()}): crun may refuse this host`);
    }
  }
}

/** runc's default spec with no terminal, a writable root and the given args. */
export function makeBundle(dir, args, seccomp) {
  fs.mkdirSync(path.join(dir, 'rootfs/bin'), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(dir, 'rootfs/bin/busybox'));
  for (const a of ['true', 'sh', 'sleep']) fs.symlinkSync('busybox', path.join(dir, 'rootfs/bin', a));
  execFileSync('runc', ['spec', '--bundle', dir]);
  const spec = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  spec.process.terminal = false;
  spec.process.args = args;
  spec.root.readonly = false;
  if (seccomp) spec.linux.seccomp = seccomp;
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec));
  return dir;
}

/** The seccomp section podman 4.3 puts into config.json by default (captured from podman). */
export function podmanSeccomp() {
  return JSON.parse(fs.readFileSync(path.join(here, 'podman-seccomp.json'), 'utf8'));
}
