import type { CommandModule } from 'yargs';
import { globalOptions, runCommand, withId, type GlobalArgs } from './common';

type DeleteArgs = GlobalArgs & { id: string; force?: boolean };

export const deleteCommand: CommandModule<GlobalArgs, DeleteArgs> = {
  command: 'delete <id>',
  describe: 'delete a stopped container (with --force, any container)',
  builder: (y) => withId(y).option('force', { alias: 'f', type: 'boolean', describe: 'kill and delete a running container' }) as never,
  handler: (argv) =>
    runCommand(async () => {
      const { deleteContainer } = await import('../container/delete');
      await deleteContainer({ ...globalOptions(argv), id: argv.id, force: argv.force });
    }),
};
