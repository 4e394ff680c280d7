// npm pack's hooks. The native launcher bin/tsoci is built on the installing host (its
// install step), so the tarball must not carry this host's build; but npm links a package's
// bins before it runs the install step, and skips a bin whose file is missing. So `pre` puts
// a stand-in at bin/tsoci that the install step's build replaces (and that says what went
// wrong if that step never ran), and `post` builds this tree's launcher again.
import { spawnSync } from 'child_process';
import { existsSync, rmSync, writeFileSync } from 'fs';

const launcher = 'bin/tsoci';
const standIn = `#!/bin/sh
# Replaced by the native launcher when the package's install step builds it.
echo "tsoci: not built: the package's install step (node scripts/install-native.mjs) did not run; npm 11 runs it with --allow-scripts=tsoci" >&2
exit 1
`;

if (process.argv[2] === 'pre') {
  writeFileSync(launcher, standIn, { mode: 0o755 });
} else if (process.argv[2] === 'post') {
  rmSync(launcher, { force: true });
  if (existsSync('build')) {
    const r = spawnSync(process.execPath, ['scripts/build-native.mjs'], { stdio: 'inherit' });
    process.exit(r.status ?? 1);
  }
} else {
  console.error('usage: node scripts/pack.mjs pre|post');
  process.exit(2);
}
