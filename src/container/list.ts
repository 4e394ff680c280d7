import * as fs from 'fs';
import { ContainerDir } from '../state/store';
import { sysError } from '../util/errors';
import { viewOf, type StateView } from './state';
import type { GlobalOptions } from './options';

/**
 * Every container under the root; directories without a readable state are skipped.
 * A missing default root is an empty list (nothing created yet); a root the user named
 * (`--root`) that cannot be read is an error, as with runc ≥ 1.2.
 */
export function list(opts: GlobalOptions, rootGiven = false): StateView[] {
  let names: string[];
  try {
    names = fs.readdirSync(opts.root);
  } catch (err) {
    if (rootGiven || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw sysError('list: open', opts.root, err);
    return [];
  }
  const views: StateView[] = [];
  for (const id of names.sort()) {
    if (id.startsWith('.')) continue; // tsoci's own entries (.seccomp-cache), never containers
    const cdir = new ContainerDir(opts.root, id);
    try {
      views.push(viewOf(cdir, cdir.read()));
    } catch {
      /* being created or deleted right now */
    }
  }
  return views;
}
