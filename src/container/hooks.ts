import { childProcess } from '../util/lazy';
import type { Hook } from '../spec/types';
import { TsociError, errnoText } from '../util/errors';

/**
 * Runs the runtime-namespace hooks of one kind in order, each with the container state
 * on stdin. Like runc, a hook's stdout and stderr are collected, not shown: a non-zero
 * exit, a signal or an expired timeout (the hook is then killed) is a failure,
 * `error running <kind> hook #<n>: …` with what the hook printed.
 */
export async function runHooks(kind: string, hooks: Hook[] | undefined, state: object): Promise<void> {
  for (const [i, hook] of (hooks ?? []).entries()) {
    await runHook(`error running ${kind} hook #${i}`, hook, JSON.stringify(state));
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
      await runHook(`error running ${kind} hook #${i}`, hook, JSON.stringify(state));
    } catch (err) {
      warn((err as Error).message);
    }
  }
}

/** What a hook may print that its error message carries (runc keeps all; a bound keeps one line sane). */
const OUTPUT_LIMIT = 64 * 1024;

function collect(stream: NodeJS.ReadableStream | null): () => string {
  const chunks: Buffer[] = [];
  let size = 0;
  stream?.on('data', (b: Buffer) => {
    if (size < OUTPUT_LIMIT) chunks.push(b.subarray(0, OUTPUT_LIMIT - size));
    size += b.length;
  });
  return () => Buffer.concat(chunks).toString('utf8');
}

function runHook(what: string, hook: Hook, stdin: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const argv = hook.args && hook.args.length > 0 ? hook.args : [hook.path];
    const child = childProcess().spawn(hook.path, argv.slice(1), {
      argv0: argv[0],
      env: Object.fromEntries((hook.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdout = collect(child.stdout);
    const stderr = collect(child.stderr);
    let timedOut = false;
    const timer = hook.timeout ? setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, hook.timeout * 1000) : undefined;
    child.stdin?.on('error', () => undefined); // a hook that does not read its stdin
    child.stdin?.end(stdin);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // Go's exec.Cmd.Start: "fork/exec <path>: <errno text>"
      const why = err.code ? `fork/exec ${hook.path}: ${errnoText(err.code)}` : err.message;
      reject(new TsociError(`${what}: ${why}`));
    });
    // the status, once the output is complete: at 'close', or a moment after 'exit' when
    // something the hook started still holds its pipes (that must not hang the runtime)
    let done = false;
    let grace: NodeJS.Timeout | undefined;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(grace); // armed at 'exit': left running, it kept every hooked command alive 200 ms more
      child.stdout?.destroy();
      child.stderr?.destroy();
      if (timedOut) reject(new TsociError(`${what}: hook ran past specified timeout of ${hook.timeout!.toFixed(1)}s`));
      else if (code === 0) resolve();
      else {
        const status = signal ? `signal: ${signalName(signal)}` : `exit status ${code}`;
        reject(new TsociError(`${what}: ${status}, stdout: ${stdout()}, stderr: ${stderr()}`));
      }
    };
    child.on('exit', (code, signal) => {
      if (!done) grace = setTimeout(() => finish(code, signal), 200);
    });
    child.on('close', finish);
  });
}

/** Go's names for the signals a hook is usually ended by ("signal: killed"). */
function signalName(sig: NodeJS.Signals): string {
  const names: Partial<Record<NodeJS.Signals, string>> = { SIGKILL: 'killed', SIGTERM: 'terminated', SIGINT: 'interrupt', SIGABRT: 'aborted', SIGSEGV: 'segmentation fault', SIGHUP: 'hangup', SIGPIPE: 'broken pipe', SIGQUIT: 'quit' };
  return names[sig] ?? sig;
}
