import * as fs from 'fs';
import { diff, snapshot } from './leaks';
import { TEST_ROOT } from './tsoci';
import { SNAPSHOT_FILE } from './global-setup';

/** Fails the suite when it left containers, mounts, init processes or cgroups behind. */
export default async function globalTeardown(): Promise<void> {
  const before = JSON.parse(fs.readFileSync(SNAPSHOT_FILE, 'utf8'));
  // give just-killed processes a moment to be reaped
  let leaks: string[] = [];
  for (let i = 0; i < 20; i++) {
    leaks = diff(before, snapshot(TEST_ROOT));
    if (leaks.length === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  fs.rmSync(SNAPSHOT_FILE, { force: true });
  if (leaks.length > 0) {
    const msg = `the test suite leaked ${leaks.length} item(s):\n  ${leaks.join('\n  ')}`;
    process.stderr.write(`\nLEAK CHECK FAILED: ${msg}\n`);
    throw new Error(msg);
  }
  process.stdout.write('\nleak check: no containers, mounts, init or container processes, zombies, cgroups, state files or temp bundles left behind\n');
}
