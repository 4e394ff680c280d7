/**
 * cgroup v2 driver (cgroupfs, unified hierarchy). One directory. Creating it enables, in
 * every ancestor's cgroup.subtree_control, the controllers the root offers
 * (cgroup.controllers of the mount point), as runc does; refusals there are ignored (an
 * ancestor with processes cannot delegate: "no internal processes" rule), and the resource
 * write that needed the controller then fails with a clear ENOENT naming the file.
 *
 * Rootless (rootless.ts): a directory the user may not make is skipped when no limit was
 * asked; below a delegated directory everything works as for root.
 *
 * Not testable for real on these hosts (no v2 controllers enabled, no systemd): the unit
 * tests run it against a temporary directory laid out like cgroupfs.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { LinuxResources } from '../spec/types';
import { TsociError } from '../util/errors';
import { cgReadOpt, cgTryWrite } from './files';
import type { CgroupHost } from './mode';
import type { CgroupPaths } from './paths';
import { deviceFilterRules } from './devices-v2';
import { applyResourcesV2 } from './resources-v2';
import { mkdirChain, nothingMade, rollback, type MadeDirs } from './v1';
import { limitsAsked, rootlessLimitError, skippable } from './rootless';

export interface V2CreateOptions {
  rootless: boolean;
  explicitPath: boolean;
}

function enableControllers(dir: string, ctrs: string[]): void {
  if (ctrs.length === 0) return;
  if (!cgTryWrite(dir, 'cgroup.subtree_control', ctrs.map((c) => '+' + c).join(' '))) return;
  for (const c of ctrs) cgTryWrite(dir, 'cgroup.subtree_control', '+' + c);
}

/** Creates the directory, enabling controllers on the way down; resources come later (MadeDirs). */
export function makeV2Dirs(host: CgroupHost, paths: CgroupPaths, resources: LinuxResources | undefined, opts: V2CreateOptions): MadeDirs {
  const dir = paths[''];
  const mp = host.unified?.mountPoint;
  if (!dir || !mp) throw new TsociError('cgroup: no cgroup2 hierarchy mounted');
  deviceFilterRules(resources?.devices); // a rule the filter cannot express fails before anything is made
  const available = (cgReadOpt(mp, 'cgroup.controllers') ?? '').split(/\s+/).filter(Boolean);
  const created: string[] = [];
  try {
    // enable controllers from the mount point down to the leaf's parent
    const rel = path.posix.relative(mp, dir).split('/').filter(Boolean);
    let cur = mp;
    enableControllers(cur, available);
    for (let i = 0; i < rel.length; i++) {
      const next = path.posix.join(cur, rel[i]);
      try {
        mkdirChain(cur, next, created);
      } catch (err) {
        if (!skippable(opts, err)) throw err;
        // rootless without a delegated subtree: no cgroup, which is fine only when no limit was asked
        rollback(created);
        const asked = limitsAsked(resources);
        if (asked.length > 0) throw rootlessLimitError(asked.join(', '), err);
        return nothingMade({});
      }
      cur = next;
      if (i < rel.length - 1) enableControllers(cur, available);
    }
  } catch (err) {
    rollback(created);
    throw err;
  }
  return {
    paths: { '': dir },
    applyResources: () => applyResourcesV2(dir, resources, { rootless: opts.rootless }),
    rollback: () => rollback(created),
  };
}

/** Whether cgroup.kill exists (Linux 5.14+): kills the whole subtree atomically. */
export function hasCgroupKill(dir: string): boolean {
  try {
    fs.accessSync(path.join(dir, 'cgroup.kill'));
    return true;
  } catch {
    return false;
  }
}
