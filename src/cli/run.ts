import type { CommandModule } from 'yargs';
import { runCommand, type GlobalArgs } from './common';
import { createFlags, createOptions, type CreateArgs } from './create';

type RunArgs = CreateArgs & { detach?: boolean; keep?: boolean; 'no-subreaper'?: boolean };

export const runCommandModule: CommandModule<GlobalArgs, RunArgs> = {
  command: 'run <id>',
  describe: 'create and start a container; in the foreground wait for it and exit with its status',
  builder: (y) =>
    createFlags(y)
      .option('detach', { alias: 'd', type: 'boolean', describe: 'return once the container process runs' })
      .option('keep', { type: 'boolean', describe: 'do not delete the container after it exits' })
      .option('no-subreaper', { type: 'boolean', describe: 'accepted for runc compatibility' }) as never,
  handler: (argv) =>
    runCommand(async () => {
      const { run } = await import('../container/run');
      return run({ ...createOptions(argv), detach: argv.detach, keep: argv.keep });
    }),
};
