import { native } from '../native';
import { create } from './create';
import { releaseInit } from './start';
import { deleteContainer } from './delete';
import type { CreateOptions } from './options';
import { runHooks } from './hooks';
import { FORWARDED_SIGNALS as FORWARDED, signalNumber as osSignal } from './signals';


/**
 * `run`: create + start. Detached, it returns once the process runs. In the foreground
 * it forwards signals to the container process, waits, deletes the container (unless
 * --keep) and returns the exit status (128+signal when killed), like runc.
 */
export async function run(opts: CreateOptions & { detach?: boolean; keep?: boolean }): Promise<number> {
  const created = await create(opts, opts.detach ? 'detach' : 'foreground');
  const { cdir, state, spec, launched } = created;
  const forward = (sig: NodeJS.Signals) => native().pidfdKill(launched.pid, osSignal(sig));
  if (!opts.detach) for (const sig of FORWARDED) process.on(sig, forward);
  try {
    cdir.lock();
    try {
      releaseInit(cdir, state);
    } finally {
      cdir.release();
    }
    const hookState = { ociVersion: state.ociVersion, id: state.id, status: 'running', pid: state.pid, bundle: state.bundle, annotations: state.annotations ?? {} };
    await runHooks('poststart', spec.hooks?.poststart, hookState);
  } catch (err) {
    await deleteContainer({ ...opts, force: true });
    throw err;
  }
  if (opts.detach) return 0;
  const { code, signal } = await launched.exited;
  for (const sig of FORWARDED) process.off(sig, forward);
  if (!opts.keep) await deleteContainer({ ...opts, force: true });
  if (signal) return 128 + osSignal(signal);
  return code ?? 1;
}
