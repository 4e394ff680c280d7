// What the two conformance runners (run.mjs: runtime-tools' validation programs;
// runc-bats.mjs: runc's bats suite) share: the runtime's path, clearing up what a test program left behind.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** Mount points at or below dir (from /proc/self/mountinfo, octal escapes decoded). */
export function mountsUnder(dir) {
  const prefix = dir.endsWith('/') ? dir : dir + '/';
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((l) => l.split(' ')[4])
    .filter(Boolean)
    .map((mp) => mp.replace(/\\(\d{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))))
    .filter((mp) => mp === dir || mp.startsWith(prefix));
}

/** `runtime --root root delete --force id`; returns a note saying how it went. */
export function forceDelete(runtime, root, id) {
  const r = spawnSync(runtime, ['--root', root, 'delete', '--force', id], { encoding: 'utf8', timeout: 30000 });
  return `container ${id}${r.status === 0 ? ' deleted' : `: delete --force failed: ${(r.stderr || '').trim()}`}`;
}

/** Unmounts everything under work, deepest first (umount -R, else -l); notes what it did and returns what is still mounted. */
export function unmountUnder(work, notes) {
  // deepest first; umount -R takes whatever is below
  for (let pass = 0; pass < 5; pass++) {
    const mps = mountsUnder(work).sort((a, b) => b.length - a.length);
    if (mps.length === 0) break;
    for (const mp of mps) {
      const r = spawnSync('umount', ['-R', mp], { encoding: 'utf8' });
      if (r.status !== 0) spawnSync('umount', ['-l', mp]);
      if (pass === 0) notes.push(`mount ${mp} unmounted`);
    }
  }
  const left = mountsUnder(work);
  if (left.length) notes.push(`still mounted: ${left.join(', ')}`);
  return left;
}

/**
 * Walks argv: onOption(name, val, next) for each argument. val() is the option's value
 * (`--x=v` or the next argument; usage() when there is none), next() the following argument.
 */
export function forEachOption(argv, usage, onOption) {
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let v;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) { v = a.slice(eq + 1); a = a.slice(0, eq); }
    onOption(a, () => v ?? argv[++i] ?? usage(`${a} needs a value`), () => argv[++i]);
  }
}

/** The runtime as an absolute path (a bare name is looked up in $PATH); usage() when there is none. */
export function resolveRuntime(runtime, usage) {
  let found = runtime;
  if (!found.includes('/')) {
    const w = spawnSync('sh', ['-c', 'command -v "$0"', found], { encoding: 'utf8' });
    if (w.status !== 0) usage(`runtime ${found} not found in $PATH`);
    found = w.stdout.trim();
  }
  found = path.resolve(found);
  if (!fs.existsSync(found)) usage(`runtime ${found} does not exist`);
  return found;
}
