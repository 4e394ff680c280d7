import * as fs from 'fs';
import { ContainerDir } from '../state/store';
import { viewOf, type StateView } from './state';
import type { GlobalOptions } from './options';

/** Every container under the root; directories without a readable state are skipped. */
export function list(opts: GlobalOptions): StateView[] {
  let names: string[];
  try {
    names = fs.readdirSync(opts.root);
  } catch {
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
