import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, tsoci, uniqueId } from '../helpers/tsoci';

// runc's mask.bats "duplicate paths": a masked path listed twice is masked once (one mount).
afterEach(() => deleteAll());

test('a masked or read-only path listed twice gets one mount', () => {
  const spec = testSpec(['sh', '-c', 'grep -c " /proc/meminfo " /proc/self/mountinfo; grep -c " /proc/sys " /proc/self/mountinfo']);
  spec.linux.maskedPaths = ['/proc/meminfo', '/proc/meminfo', '/proc/meminfo/'];
  spec.linux.readonlyPaths = ['/proc/sys', '/proc/sys'];
  const bundle = makeBundle(spec);
  try {
    const r = tsoci(['run', '--bundle', bundle, uniqueId('mask')]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('1\n1\n');
  } finally {
    removeBundle(bundle);
  }
});
