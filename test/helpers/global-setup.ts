import * as fs from 'fs';
import { snapshot } from './leaks';
import { TEST_ROOT } from './tsoci';

// one per test root: runs with their own TSOCI_TEST_ROOT do not share (or delete) it
export const SNAPSHOT_FILE = process.env.TSOCI_TEST_ROOT
  ? `/tmp/tsoci-test-host-snapshot-${TEST_ROOT.replace(/[^A-Za-z0-9_-]/g, '_')}.json`
  : '/tmp/tsoci-test-host-snapshot.json';

/** Records the host before any test, so the teardown can report what the suite leaked. */
export default async function globalSetup(): Promise<void> {
  fs.writeFileSync(SNAPSHOT_FILE, JSON.stringify(snapshot(TEST_ROOT)));
}
