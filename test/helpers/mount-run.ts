import * as fs from 'fs';
import * as path from 'path';
import { makeBundle, removeBundle } from './rootfs';
import { testSpec } from './spec';
import { diff, snapshot } from './leaks';
import { tsoci, uniqueId, TEST_ROOT } from './tsoci';

// Shared by the mount e2e tests (rootfs-mounts, bind-mounts): one container per case.

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** What this container left behind (only items naming it: other work may run on the host). */
export function leftovers(before: ReturnType<typeof snapshot>, ...names: string[]): string[] {
  let left: string[] = [];
  for (let i = 0; i < 250; i++) {
    left = diff(before, snapshot(TEST_ROOT)).filter((l) => names.some((n) => l.includes(n)));
    if (left.length === 0) break;
    Atomics.wait(sleeper, 0, 0, 20);
  }
  return left;
}

export type Edit = (spec: Record<string, any>) => void;
export type Prepare = (rootfs: string, bundle: string) => void;

/** `tsoci run` of `sh -c script` in a fresh bundle; `check` sees the rootfs afterwards. */
export function run(script: string, edit: Edit = () => undefined, prepare: Prepare = () => undefined, check: Prepare = () => undefined) {
  const spec = testSpec(['sh', '-c', script]);
  edit(spec);
  const bundle = makeBundle(spec);
  fs.chmodSync(bundle, 0o755);
  const rootfs = path.join(bundle, 'rootfs');
  try {
    prepare(rootfs, bundle);
    const r = tsoci(['run', '--bundle', bundle, uniqueId('mnt')]);
    check(rootfs, bundle);
    return r;
  } finally {
    removeBundle(bundle);
  }
}

export const tmpfs = (destination: string, options: string[]) => (s: Record<string, any>) => {
  s.mounts.push({ type: 'tmpfs', source: 'tmpfs', destination, options });
};
export const mode = (p: string) => (fs.statSync(p).mode & 0o7777).toString(8);
