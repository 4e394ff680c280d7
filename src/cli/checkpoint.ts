import type { CommandModule } from 'yargs';
import { globalOptions, runCommand, withId, type GlobalArgs } from './common';
import { criuFlags, criuOptions, type CriuArgs } from './criu-flags';

type CheckpointArgs = GlobalArgs & CriuArgs & {
  id: string;
  'parent-path'?: string;
  'leave-running'?: boolean;
  'tcp-skip-in-flight'?: boolean;
  'link-remap'?: boolean;
  'pre-dump'?: boolean;
  'status-fd'?: number;
};

export const checkpointCommand: CommandModule<GlobalArgs, CheckpointArgs> = {
  command: 'checkpoint <id>',
  describe: 'checkpoint a running container with CRIU (it is removed unless --leave-running)',
  builder: (y) =>
    criuFlags(withId(y))
      .option('parent-path', { type: 'string', describe: 'path of the previous (pre-)dump, relative to the image path' })
      .option('leave-running', { type: 'boolean', describe: 'leave the process running after checkpointing' })
      .option('tcp-skip-in-flight', { type: 'boolean', describe: 'skip in-flight tcp connections' })
      .option('link-remap', { type: 'boolean', describe: 'allow one to link unlinked files back when possible' })
      .option('pre-dump', { type: 'boolean', describe: 'dump memory only, leave the container running' })
      .option('status-fd', { type: 'number', describe: 'with --lazy-pages: criu writes \\0 to this fd once the page server is ready' }) as never,
  handler: (argv) =>
    runCommand(async () => {
      const { checkpoint } = await import('../container/checkpoint');
      await checkpoint({
        ...globalOptions(argv),
        ...criuOptions(argv),
        id: argv.id,
        parentPath: argv['parent-path'],
        leaveRunning: argv['leave-running'],
        tcpSkipInFlight: argv['tcp-skip-in-flight'],
        linkRemap: argv['link-remap'],
        preDump: argv['pre-dump'],
        statusFd: argv['status-fd'],
      });
    }),
};
