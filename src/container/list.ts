import * as fs from 'fs';
import { ContainerDir, sweepStaleRemovals } from '../state/store';
import { viewOf, type StateView } from './state';
import type { GlobalOptions } from './options';
import { sysError } from '../util/errors';

/**
 * Every container under the root; directories without a readable state are skipped. Like
 * runc, a missing root is an empty list only when it is the default one (`rootGiven`
 * false: no container was made yet); a --root that does not exist is an error.
 */
export function list(opts: GlobalOptions, rootGiven = false): StateView[] {
  let names: string[];
  try {
    names = fs.readdirSync(opts.root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !rootGiven) return [];
    throw sysError('open', opts.root, err);
  }
  sweepStaleRemovals(opts.root, names);
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
