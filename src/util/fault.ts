/**
 * Test-only fault injection. `TSOCI_FAULT=<step>` makes the runtime (here) or tsoci-init
 * (cpp/init/fault.cc) fail at the named step with "fault injected at <step>";
 * `TSOCI_FAULT=sleep:<step>` prints "tsoci: fault: sleeping at <step>" on stderr and
 * sleeps there (up to 60 s), so a test can SIGKILL tsoci mid-operation.
 * Unset (always, outside tests) a fault point is one comparison with undefined.
 */
import { TsociError } from './errors';

const FAULT = process.env.TSOCI_FAULT || undefined;

/** The runtime's own steps, in the order `create` (then `delete`) passes them. */
export const RUNTIME_FAULT_STEPS = [
  'create:claimed', // the state dir is claimed and locked
  'create:cgroups', // cgroups exist and are recorded in state.json
  'create:spawned', // stage0 runs, in the container's cgroups
  'create:pid', // the container process exists and its pid is recorded
  'create:hooks', // the init waits at the hooks pause (only with prestart/createRuntime hooks)
  'create:final-state', // before state.json says "created"
  'create:pid-file', // before the pid file is written
  'destroy:killed', // delete: the container's processes are killed
  'destroy:cgroups', // delete: cgroups are removed, the state dir is not
] as const;

export function faultPoint(step: string): void {
  if (FAULT === undefined) return;
  if (FAULT === step) throw new TsociError(`fault injected at ${step}`, 'EIO');
  if (FAULT === `sleep:${step}`) {
    process.stderr.write(`tsoci: fault: sleeping at ${step}\n`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
  }
}

/** What tsoci-init needs in its (minimal) environment to see the same switch. */
export function faultEnv(): Record<string, string> {
  return FAULT === undefined ? {} : { TSOCI_FAULT: FAULT };
}
