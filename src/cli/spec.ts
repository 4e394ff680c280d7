import type { CommandModule } from 'yargs';
import { runCommand, type GlobalArgs } from './common';

type SpecArgs = GlobalArgs & { bundle: string; rootless?: boolean };

export const specCommand: CommandModule<GlobalArgs, SpecArgs> = {
  command: 'spec',
  describe: 'write a default config.json (runc\'s) into the bundle',
  builder: (y) =>
    y.option('bundle', { alias: 'b', type: 'string', default: '.', describe: 'directory to write config.json in' })
      .option('rootless', { type: 'boolean', describe: 'a config for an unprivileged user' }) as never,
  handler: (argv) =>
    runCommand(async () => {
      const fs = await import('fs');
      const path = await import('path');
      const { defaultSpec, toRootless } = await import('../container/default-spec');
      const { TsociError, sysError } = await import('../util/errors');
      const file = path.join(argv.bundle, 'config.json');
      if (fs.existsSync(file)) throw new TsociError(`File ${file} exists. Remove it first`);
      let spec = defaultSpec();
      if (argv.rootless) spec = toRootless(spec, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
      try {
        fs.writeFileSync(file, JSON.stringify(spec, null, '\t') + '\n', { flag: 'wx', mode: 0o644 });
      } catch (err) {
        throw sysError('write', file, err);
      }
    }),
};
