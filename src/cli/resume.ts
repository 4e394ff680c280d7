import type { CommandModule } from 'yargs';
import { globalOptions, runCommand, withId, type GlobalArgs } from './common';

export const resumeCommand: CommandModule<GlobalArgs, GlobalArgs & { id: string }> = {
  command: 'resume <id>',
  describe: 'resume every process of a paused container',
  builder: (y) => withId(y),
  handler: (argv) =>
    runCommand(async () => {
      const { resume } = await import('../container/pause');
      resume({ ...globalOptions(argv), id: argv.id });
    }),
};
