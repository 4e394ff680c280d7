/**
 * Node raises its soft RLIMIT_NOFILE to the hard limit at start-up, so every process tsoci
 * starts (hooks; tsoci-init, and through it a container whose spec sets no RLIMIT_NOFILE)
 * would inherit the raised limit. Current runc (Go >= 1.21 restores it for children) passes
 * on its caller's. The launcher (bin/tsoci) records the caller's soft limit before it execs
 * Node, in TSOCI_CALLER_NOFILE=<pid>:<soft> (only when it is below the hard one), which counts
 * only when <pid> is ours; tsoci then lowers its own soft limit back to it. (A warm worker
 * takes all of the launcher's limits instead: src/warm/worker.ts.)
 */
import { native } from '../native';
import { CALLER_NOFILE, takeLauncherRecord } from '../util/launcher-records';

export function restoreCallerNofile(): void {
  const soft = takeLauncherRecord(process.env, CALLER_NOFILE, process.pid);
  if (soft === undefined || !/^\d+$/.test(soft)) return;
  native().setNofileSoft(Number(soft)); // lowering a soft limit cannot fail once the value is below the hard one
}
