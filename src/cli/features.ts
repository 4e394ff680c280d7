import type { CommandModule } from 'yargs';
import { runCommand, type GlobalArgs } from './common';

export const featuresCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'features',
  describe: 'show the enabled features (runtime-spec features.md JSON)',
  handler: () =>
    runCommand(async () => {
      const { features } = await import('../container/features');
      const { writeOut } = await import('../util/out');
      writeOut(JSON.stringify(features(), null, 4) + '\n');
    }),
};
