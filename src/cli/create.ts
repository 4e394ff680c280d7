import type { Argv, CommandModule } from 'yargs';
import { globalOptions, runCommand, withId, type GlobalArgs } from './common';

export interface CreateArgs extends GlobalArgs {
  id: string;
  bundle: string;
  'pid-file'?: string;
  'console-socket'?: string;
  'pidfd-socket'?: string;
  'no-pivot'?: boolean;
  'no-new-keyring'?: boolean;
  'preserve-fds'?: number;
}

/** Flags shared by create and run. */
export function createFlags<T>(y: Argv<T>): Argv<T & CreateArgs> {
  return withId(y)
    .option('bundle', { alias: 'b', type: 'string', default: '.', describe: 'path to the bundle directory' })
    .option('pid-file', { type: 'string', describe: 'file to write the container process id to' })
    .option('console-socket', { type: 'string', describe: 'unix socket to send the pty master to' })
    .option('pidfd-socket', { type: 'string', describe: 'unix socket to send a pidfd of the container process to' })
    .option('no-pivot', { type: 'boolean', describe: 'do not use pivot_root (for ramdisk roots)' })
    .option('no-new-keyring', { type: 'boolean', describe: 'do not create a new session keyring' })
    .option('preserve-fds', { type: 'number', default: 0, describe: 'pass N extra fds (3…3+N-1) to the container' }) as unknown as Argv<T & CreateArgs>;
}

export function createOptions(argv: CreateArgs) {
  return {
    ...globalOptions(argv),
    id: argv.id,
    bundle: argv.bundle,
    pidFile: argv['pid-file'],
    consoleSocket: argv['console-socket'],
    pidfdSocket: argv['pidfd-socket'],
    noPivot: argv['no-pivot'],
    noNewKeyring: argv['no-new-keyring'],
    preserveFds: argv['preserve-fds'],
  };
}

export const createCommand: CommandModule<GlobalArgs, CreateArgs> = {
  command: 'create <id>',
  describe: 'create a container (its process waits for `start`)',
  builder: (y) => createFlags(y),
  handler: (argv) =>
    runCommand(async () => {
      const { create } = await import('../container/create');
      await create(createOptions(argv));
    }),
};
