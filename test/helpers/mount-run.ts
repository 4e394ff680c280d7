import * as fs from 'fs';
import * as path from 'path';
import { makeBundle, removeBundle } from './rootfs';
import { testSpec } from './spec';
import { tsoci, uniqueId } from './tsoci';

// Shared by the mount e2e tests (rootfs-mounts, bind-mounts): one container per case.

export { leftovers } from './host-checks';

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
