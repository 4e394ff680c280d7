import type { CommandModule } from 'yargs';
import { globalOptions, runCommand, withId, type GlobalArgs } from './common';

export const startCommand: CommandModule<GlobalArgs, GlobalArgs & { id: string }> = {
  command: 'start <id>',
  describe: 'run the user-specified process of a created container',
  builder: (y) => withId(y),
  handler: (argv) =>
    runCommand(async () => {
      // startContainer hooks (in the init) and poststart hooks: a failure fails `start`
      // and destroys the container (runtime-spec 1.3 lifecycle)
      const { startWithHooks } = await import('../container/start-hooks');
      await startWithHooks({ ...globalOptions(argv), id: argv.id });
    }),
};
