import type { Argv } from 'yargs';
import type { GlobalOptions } from '../container/options';
import { resolveRoot } from '../state/paths';
import { parseRootlessFlag, resolveRootless } from '../rootless/detect';
import { TsociError } from '../util/errors';
import { logError } from '../util/log';

export interface GlobalArgs {
  root?: string;
  log?: string;
  'log-format'?: string;
  debug?: boolean;
  'systemd-cgroup'?: boolean;
  rootless?: string | boolean;
}

/** runc's global flags, on the root yargs instance. */
export function withGlobalFlags<T>(y: Argv<T>): Argv<T & GlobalArgs> {
  return y
    .option('root', { type: 'string', describe: 'root directory for container state (default /run/tsoci, or $XDG_RUNTIME_DIR/tsoci when rootless)' })
    .option('log', { type: 'string', describe: 'log file (errors are also written there)' })
    .option('log-format', { type: 'string', choices: ['text', 'json'], default: 'text', describe: "set the log format ('text' (default), or 'json')" })
    .option('debug', { type: 'boolean', describe: 'enable debug logging' })
    .option('systemd-cgroup', { type: 'boolean', describe: 'use the systemd cgroup driver' })
    .option('rootless', { type: 'string', describe: 'ignore cgroup permission errors (true, false, auto; default auto)' })
    .option('criu', { type: 'string', describe: 'path to the criu binary used for checkpoint and restore (default: the set-up cache, then criu on PATH)' })
    // runc's flags include --no-pivot, --no-new-keyring…: they are flags, not negations
    .parserConfiguration({ 'boolean-negation': false }) as unknown as Argv<T & GlobalArgs>;
}

export function globalOptions(argv: GlobalArgs): GlobalOptions {
  return {
    root: resolveRoot(argv.root),
    systemdCgroup: !!argv['systemd-cgroup'],
    rootless: resolveRootless(parseRootlessFlag(argv.rootless)),
    debug: !!argv.debug,
  };
}

/** The container id positional every per-container command takes. */
export function withId<T>(y: Argv<T>): Argv<T & { id: string }> {
  return y.positional('id', { type: 'string', describe: 'container id', demandOption: true }) as Argv<T & { id: string }>;
}

/**
 * Runs a command body: a TsociError (or any error) becomes one message and exit status 1
 * (`failStatus`: runc's exec fails with 255).
 */
export async function runCommand(body: () => unknown | Promise<unknown>, failStatus = 1): Promise<void> {
  try {
    const code = await body();
    if (typeof code === 'number' && code !== 0) process.exitCode = code;
  } catch (err) {
    logError(describe(err));
    process.exitCode = failStatus;
  }
}

function describe(err: unknown): string {
  if (err instanceof TsociError) return err.message;
  if (err instanceof Error) return `internal error: ${err.message}`;
  return String(err);
}
