import type { CommandModule } from 'yargs';
import { globalOptions, runCommand, withId, type GlobalArgs } from './common';
import { criuFlags, criuOptions, type CriuArgs } from './criu-flags';

type RestoreArgs = GlobalArgs & CriuArgs & {
  id: string;
  bundle: string;
  detach?: boolean;
  'pid-file'?: string;
  'console-socket'?: string;
  'no-subreaper'?: boolean;
  'no-pivot'?: boolean;
};

export const restoreCommand: CommandModule<GlobalArgs, RestoreArgs> = {
  command: 'restore <id>',
  describe: 'restore a container from a checkpoint (in the foreground: wait and exit with its status)',
  builder: (y) =>
    criuFlags(withId(y))
      .option('bundle', { alias: 'b', type: 'string', default: '.', describe: 'path to the bundle directory' })
      .option('detach', { alias: 'd', type: 'boolean', describe: 'return once the container runs' })
      .option('pid-file', { type: 'string', describe: 'file to write the container process id to' })
      .option('console-socket', { type: 'string', describe: 'unix socket to send the pty master to' })
      .option('no-subreaper', { type: 'boolean', describe: 'do not become the subreaper of reparented processes' })
      .option('no-pivot', { type: 'boolean', describe: 'accepted for runc compatibility (CRIU restores the mounts)' }) as never,
  handler: (argv) =>
    runCommand(async () => {
      const { restore } = await import('../container/restore');
      return restore({
        ...globalOptions(argv),
        ...criuOptions(argv),
        id: argv.id,
        bundle: argv.bundle,
        detach: argv.detach,
        pidFile: argv['pid-file'],
        consoleSocket: argv['console-socket'],
        noSubreaper: argv['no-subreaper'],
      });
    }),
};
