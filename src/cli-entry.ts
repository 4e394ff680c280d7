import { main } from './main';
import { separateExecCommand } from './cli/exec';
import { takeCallerFdRecord } from './fds/caller-fds';
import { restoreCallerNofile } from './fds/caller-nofile';
import { restoreCallerEnv } from './util/caller-env';
import { runWorker, runZygote } from './warm/worker';

// a warm pool's worker (src/warm/worker.ts), started by `tsoci warm start`'s supervisor
if (process.env.TSOCI_WARM_ROLE === 'worker') {
  runWorker();
} else if (process.env.TSOCI_WARM_ROLE === 'zygote') {
  runZygote();
} else {
  restoreCallerEnv();
  takeCallerFdRecord();
  restoreCallerNofile();
  main(separateExecCommand(process.argv.slice(2)));
}
