// The bundle's V8 code caches (bin/loader.js): dist/tsoci.js.cache, made here by a `list`, and
// dist/tsoci.js.<command>-cache, made by each command at its first successful run (the warm
// pool's zygote: tsoci.js.zygote-cache). A new bundle or another Node makes them all stale.
import { spawnSync } from 'child_process';
import { mkdtempSync, readdirSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';

export function remakeCodeCaches(root) {
  const dist = path.join(root, 'dist');
  for (const f of readdirSync(dist)) if (/^tsoci\.js\..*cache(\.\d+)?$/.test(f)) rmSync(path.join(dist, f), { force: true });
  // a command saves a cache only when it succeeds: `list` of an empty root
  const empty = mkdtempSync(path.join(os.tmpdir(), 'tsoci-cache-'));
  try {
    spawnSync(process.execPath, [path.join(root, 'bin', 'loader.js'), '--root', empty, 'list'], { stdio: 'ignore' });
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
}
