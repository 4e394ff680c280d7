import type { CommandModule } from 'yargs';
import { writeOut } from '../util/out';
import { globalOptions, runCommand, withId, type GlobalArgs } from './common';

export const stateCommand: CommandModule<GlobalArgs, GlobalArgs & { id: string }> = {
  command: 'state <id>',
  describe: 'print the state of a container as JSON',
  builder: (y) => withId(y),
  handler: (argv) =>
    runCommand(async () => {
      const { state } = await import('../container/state');
      writeOut(JSON.stringify(state({ ...globalOptions(argv), id: argv.id }), null, 2) + '\n');
    }),
};
