// The native build (cmake-js): the addon, tsoci-init and the launcher bin/tsoci, which
// records the absolute path of the Node running this build (process.execPath).
import { spawnSync } from 'child_process';
import { createRequire } from 'module';

const require = createRequire(import.meta.url);
const cli = require.resolve('cmake-js/bin/cmake-js');
const r = spawnSync(process.execPath, [cli, 'compile', '--out', 'build', `--CDTSOCI_NODE=${process.execPath}`], { stdio: 'inherit' });
process.exit(r.status ?? 1);
