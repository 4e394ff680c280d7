import * as fs from 'fs';
import { snapshot } from './leaks';
import { TEST_ROOT } from './tsoci';
import { SUITE_POOL_DIR, warm } from './warm-pool';

// one per test root: runs with their own TSOCI_TEST_ROOT do not share (or delete) it
export const SNAPSHOT_FILE = process.env.TSOCI_TEST_ROOT
  ? `/tmp/tsoci-test-host-snapshot-${TEST_ROOT.replace(/[^A-Za-z0-9_-]/g, '_')}.json`
  : '/tmp/tsoci-test-host-snapshot.json';

/**
 * Records the host before any test, so the teardown can report what the suite leaked.
 * TSOCI_TEST_WARM=1: the suite runs with a warm pool (its own directory, exported to the
 * tests' tsoci commands as TSOCI_WARM_DIR), started first so the snapshot holds it; the
 * teardown stops it before the leak check.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.TSOCI_TEST_WARM === '1') {
    const r = warm(SUITE_POOL_DIR, ['start', '--workers', '2']);
    if (r.status !== 0) throw new Error(`TSOCI_TEST_WARM=1: tsoci warm start failed: ${r.stderr.trim()}`);
    process.env.TSOCI_WARM_DIR = SUITE_POOL_DIR;
    process.stdout.write(`\nwarm mode: the suite runs with a warm pool in ${SUITE_POOL_DIR}\n`);
  }
  fs.writeFileSync(SNAPSHOT_FILE, JSON.stringify(snapshot(TEST_ROOT)));
}
