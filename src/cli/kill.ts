import type { CommandModule } from 'yargs';
import { globalOptions, runCommand, withId, type GlobalArgs } from './common';

type KillArgs = GlobalArgs & { id: string; signal?: string; all?: boolean };

export const killCommand: CommandModule<GlobalArgs, KillArgs> = {
  command: 'kill <id> [signal]',
  describe: 'send a signal (default SIGTERM) to the container process',
  builder: (y) =>
    withId(y)
      .positional('signal', { type: 'string', default: 'SIGTERM', describe: 'number or name, with or without SIG' })
      .option('all', { alias: 'a', type: 'boolean', describe: 'signal every process in the container' }) as never,
  handler: (argv) =>
    runCommand(async () => {
      const { parseSignal } = await import('../util/signals');
      const { kill } = await import('../container/kill');
      kill({ ...globalOptions(argv), id: argv.id, signal: parseSignal(String(argv.signal ?? 'SIGTERM')), all: argv.all });
    }),
};
