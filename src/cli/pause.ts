import type { CommandModule } from 'yargs';
import { globalOptions, runCommand, withId, type GlobalArgs } from './common';

export const pauseCommand: CommandModule<GlobalArgs, GlobalArgs & { id: string }> = {
  command: 'pause <id>',
  describe: 'suspend every process in the container (cgroup freezer)',
  builder: (y) => withId(y),
  handler: (argv) =>
    runCommand(async () => {
      const { pause } = await import('../container/pause');
      pause({ ...globalOptions(argv), id: argv.id });
    }),
};
