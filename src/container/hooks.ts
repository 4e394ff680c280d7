import { childProcess } from '../util/lazy';
import type { Hook } from '../spec/types';
import { TsociError } from '../util/errors';

/**
 * Runs the runtime-namespace hooks of one kind in order, each with the container state
 * on stdin, its stdout/stderr going to tsoci's. A non-zero exit, a signal or an expired
 * timeout is a failure (the hook is killed when its timeout expires).
 */
export async function runHooks(kind: string, hooks: Hook[] | undefined, state: object): Promise<void> {
  for (const [i, hook] of (hooks ?? []).entries()) {
    await runHook(`${kind} hook #${i} (${hook.path})`, hook, JSON.stringify(state));
  }
}

/**
 * Runs every hook of one kind even when some fail (poststop: runtime-spec runtime.md step 13,
 * "the remaining hooks and lifecycle continue as if the hook had succeeded"); each failure
 * is passed to `warn`.
 */
export async function runHooksWarn(kind: string, hooks: Hook[] | undefined, state: object, warn: (message: string) => void): Promise<void> {
  for (const [i, hook] of (hooks ?? []).entries()) {
    try {
      await runHook(`${kind} hook #${i} (${hook.path})`, hook, JSON.stringify(state));
    } catch (err) {
      warn((err as Error).message);
    }
  }
}

function runHook(what: string, hook: Hook, stdin: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const argv = hook.args && hook.args.length > 0 ? hook.args : [hook.path];
    const child = childProcess().spawn(hook.path, argv.slice(1), {
      argv0: argv[0],
      env: Object.fromEntries((hook.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
      stdio: ['pipe', 'inherit', 'inherit'],
    });
    let timedOut = false;
    const timer = hook.timeout ? setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, hook.timeout * 1000) : undefined;
    child.stdin?.on('error', () => undefined); // a hook that does not read its stdin
    child.stdin?.end(stdin);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new TsociError(`${what}: ${err.message}`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) reject(new TsociError(`${what}: timed out after ${hook.timeout}s`));
      else if (code === 0) resolve();
      else reject(new TsociError(`${what}: ${signal ? `killed by ${signal}` : `exit status ${code}`}`));
    });
  });
}
