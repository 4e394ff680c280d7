import * as fs from 'fs';
import { snapshot } from './leaks';
import { TEST_ROOT } from './tsoci';

export const SNAPSHOT_FILE = '/tmp/tsoci-test-host-snapshot.json';

/** Records the host before any test, so the teardown can report what the suite leaked. */
export default async function globalSetup(): Promise<void> {
  fs.writeFileSync(SNAPSHOT_FILE, JSON.stringify(snapshot(TEST_ROOT)));
}
