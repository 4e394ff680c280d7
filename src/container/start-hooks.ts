import * as fs from 'fs';
import { openContainer, type StoredState } from '../state/store';
import type { Spec } from '../spec/types';
import { start } from './start';
import { runHooks, runHooksWarn } from './hooks';
import { writeErr } from '../util/out';
import type { GlobalOptions } from './options';

/** The runtime-spec state a runtime-namespace hook reads on stdin. */
export function hookState(state: StoredState, status: 'creating' | 'created' | 'running' | 'stopped'): object {
  return { ociVersion: state.ociVersion, id: state.id, status, pid: state.pid, bundle: state.bundle, annotations: state.annotations ?? {} };
}

/**
 * `start` with the lifecycle of runtime-spec 1.3 (runtime.md): the init runs the
 * startContainer hooks (step 7) and execs; then the poststart hooks run here (step 9).
 * When either fails, start fails, and the container is stopped and destroyed (step 12)
 * and its poststop hooks run (step 13) — like `delete --force`.
 */
export async function startWithHooks(opts: GlobalOptions & { id: string }): Promise<void> {
  try {
    start(opts);
  } catch (err) {
    // a failing startContainer hook (the init reported it on the exec fifo and exited)
    if ((err as { code?: string }).code === 'EHOOK') await teardown(opts);
    throw err;
  }
  const { cdir, state } = openContainer(opts.root, opts.id);
  if (!state.hasSpecCopy) return;
  let spec: Spec;
  try {
    spec = JSON.parse(fs.readFileSync(cdir.specPath, 'utf8')) as Spec;
  } catch {
    return;
  }
  const hooks = spec.hooks?.poststart;
  if (!hooks?.length) return;
  try {
    await runHooks('poststart', hooks, hookState(state, 'running'));
  } catch (err) {
    await teardown(opts);
    throw err;
  }
}

async function teardown(opts: GlobalOptions & { id: string }): Promise<void> {
  try {
    const { deleteContainer } = await import('./delete');
    await deleteContainer({ ...opts, force: true });
  } catch (err) {
    writeErr(`warning: removing the container after a failed hook: ${(err as Error).message}\n`);
  }
}

/**
 * After a failed prestart/createRuntime/createContainer hook the container is destroyed
 * (lifecycle step 12) and the poststop hooks still run (step 13); their failures are warnings.
 */
export async function poststopAfterFailedCreate(spec: Spec, state: StoredState): Promise<void> {
  await runHooksWarn('poststop', spec.hooks?.poststop, hookState(state, 'stopped'), (m) => writeErr(`warning: ${m}\n`));
}
