import { native } from '../native';
import { create } from './create';
import { releaseInit } from './start';
import { deleteContainer } from './delete';
import type { CreateOptions } from './options';
import { runHooks } from './hooks';
import { FORWARDED_SIGNALS as FORWARDED, signalNumber as osSignal } from '../util/forwarded-signals';
import { trace } from '../util/trace';
import { ConsoleRelay, bundleWantsTerminal, openForegroundConsole } from '../console/console';


/** Signals that end a run whose container has not started yet (its default action would leave it created). */
const STOPPING: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

/**
 * `run`: create + start. Detached, it returns once the process runs. In the foreground
 * it forwards signals to the container process, waits, deletes the container (unless
 * --keep) and returns the exit status (128+signal when killed), like runc.
 * SIGINT/TERM/HUP/QUIT before the process is started delete the container instead, and run
 * returns 128+signal: a run ends on them in every phase, leaving nothing behind.
 */
export async function run(opts: CreateOptions & { detach?: boolean; keep?: boolean }): Promise<number> {
  let stoppedBy: NodeJS.Signals | undefined;
  const stop = (sig: NodeJS.Signals) => (stoppedBy ??= sig);
  const stopHandlers = (on: boolean) => {
    for (const sig of STOPPING) on ? process.on(sig, stop) : process.off(sig, stop);
  };
  stopHandlers(true);
  // terminal: true in the foreground without --console-socket: tsoci is the console itself
  const fgConsole = openForegroundConsole(!opts.detach && !opts.consoleSocket && bundleWantsTerminal(opts.bundle));
  let created: Awaited<ReturnType<typeof create>>;
  let relay: ConsoleRelay | undefined;
  try {
    created = await create(fgConsole ? { ...opts, consoleSocket: fgConsole.path } : opts, opts.detach ? 'detach' : 'foreground');
  } catch (err) {
    fgConsole?.close();
    stopHandlers(false);
    throw err;
  }
  if (fgConsole) {
    try {
      relay = new ConsoleRelay(fgConsole.receive());
    } catch (err) {
      stopHandlers(false);
      await deleteContainer({ ...opts, force: true });
      throw err;
    }
  }
  const { cdir, state, spec, launched } = created;
  const forward = (sig: NodeJS.Signals) => native().pidfdKill(launched.pid, osSignal(sig));
  try {
    await cdir.lockAsync(); // on the event loop: a signal meanwhile is seen, not held up
    try {
      if (!stoppedBy) releaseInit(cdir, state);
    } finally {
      cdir.release();
    }
    // in the same tick as the start: from here on every signal goes to the container. The
    // forwarders come first: removing a signal's last listener closes its handle, and a
    // signal already caught (sent as the process started) would be dropped with it
    if (!opts.detach && !stoppedBy) for (const sig of FORWARDED) process.on(sig, forward);
    stopHandlers(false);
    if (stoppedBy) {
      relay?.stop();
      await deleteContainer({ ...opts, force: true });
      trace('stopped');
      return 128 + osSignal(stoppedBy);
    }
    const hookState = { ociVersion: state.ociVersion, id: state.id, status: 'running', pid: state.pid, bundle: state.bundle, annotations: state.annotations ?? {} };
    await runHooks('poststart', spec.hooks?.poststart, hookState);
    trace('started');
  } catch (err) {
    stopHandlers(false);
    relay?.stop();
    await deleteContainer({ ...opts, force: true });
    throw err;
  }
  if (opts.detach) return 0;
  const { code, signal } = await launched.exited;
  trace('exited');
  await relay?.finish();
  for (const sig of FORWARDED) process.off(sig, forward);
  if (!opts.keep) await deleteContainer({ ...opts, force: true });
  trace('deleted');
  if (signal) return 128 + signal;
  return code ?? 1;
}
