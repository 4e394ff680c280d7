import type { CommandModule } from 'yargs';
import { globalOptions, runCommand, withId, type GlobalArgs } from './common';
import { writeOut } from '../util/out';

type PsArgs = GlobalArgs & { id: string; format?: string; psArgs?: (string | number)[] };

export const psCommand: CommandModule<GlobalArgs, PsArgs> = {
  command: 'ps <id> [psArgs..]',
  describe: 'list the processes running in a container (json: host PIDs; table: the host ps, default -ef)',
  builder: (y) =>
    withId(y)
      // "-ef", "aux", "-o pid,args" after the id belong to ps, not to us
      .parserConfiguration({ 'unknown-options-as-args': true })
      .positional('psArgs', { type: 'string', array: true, describe: 'options for ps(1)' })
      .option('format', { alias: 'f', type: 'string', default: 'table', describe: 'table or json' }) as never,
  handler: (argv) =>
    runCommand(async () => {
      const format = argv.format ?? 'table';
      if (format !== 'table' && format !== 'json') {
        const { TsociError } = await import('../util/errors');
        throw new TsociError('invalid format option');
      }
      const { containerPids, psTable } = await import('../container/ps');
      const opts = { ...globalOptions(argv), id: argv.id };
      if (format === 'json') {
        writeOut(JSON.stringify(containerPids(opts)) + '\n');
        return;
      }
      writeOut(psTable({ ...opts, psArgs: (argv.psArgs ?? []).map(String) }));
    }),
};
