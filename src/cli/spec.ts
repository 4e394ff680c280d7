import * as fs from 'fs';
import * as path from 'path';
import type { CommandModule } from 'yargs';
import { runCommand, type GlobalArgs } from './common';

type SpecArgs = GlobalArgs & { bundle: string };

export const specCommand: CommandModule<GlobalArgs, SpecArgs> = {
  command: 'spec',
  describe: 'write a default config.json (runc\'s) into the bundle',
  builder: (y) =>
    y.option('bundle', { alias: 'b', type: 'string', default: '.', describe: 'directory to write config.json in' })
      // --rootless (a config for an unprivileged user) is the global string option: redeclaring
      // it here as a boolean makes yargs parse a bare --rootless as false
      .epilog('--rootless: write a config for an unprivileged user') as never,
  handler: (argv) =>
    runCommand(async () => {
      // (builtins are imported statically: bin/tsoci runs the bundle as a vm.Script with a
      // code cache, where a real dynamic import() of a builtin has no callback and throws)
      const { defaultSpec, toRootless } = await import('../container/default-spec');
      const { TsociError, sysError } = await import('../util/errors');
      const file = path.join(argv.bundle, 'config.json');
      if (fs.existsSync(file)) throw new TsociError(`File ${file} exists. Remove it first`);
      const { cgroupHost } = await import('../cgroups/mode');
      let spec = defaultSpec(cgroupHost().mode === 'v2');
      // the global --rootless is a string option (true|false|auto): a bare --rootless parses as ""
      const rootless: unknown = argv.rootless;
      if (rootless === true || rootless === '' || rootless === 'true') spec = toRootless(spec, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
      try {
        fs.writeFileSync(file, JSON.stringify(spec, null, '\t') + '\n', { flag: 'wx', mode: 0o644 });
      } catch (err) {
        throw sysError('write', file, err);
      }
    }),
};
