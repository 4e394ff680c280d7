import yargs from 'yargs/yargs';
import { configureLog, enableDebug, logError } from './cli/log';
import { createCommand } from './cli/create';
import { startCommand } from './cli/start';
import { stateCommand } from './cli/state';
import { killCommand } from './cli/kill';
import { deleteCommand } from './cli/delete';
import { runCommandModule } from './cli/run';
import { listCommand } from './cli/list';
import { specCommand } from './cli/spec';
import { execCommand } from './cli/exec';

declare const TSOCI_VERSION: string;
declare const TSOCI_COMMIT: string;
const VERSION = typeof TSOCI_VERSION === 'string' ? TSOCI_VERSION : '0.0.0-dev';
const COMMIT = typeof TSOCI_COMMIT === 'string' ? TSOCI_COMMIT : 'unknown';
export const SPEC_VERSION = '1.3.0';

function versionText(): string {
  return `tsoci version ${VERSION}\ncommit: ${COMMIT}\nspec: ${SPEC_VERSION}\nnode: ${process.version}\n`;
}

export function main(argv: string[]): void {
  if (argv.includes('--version') || (argv.length === 1 && argv[0] === '-v')) {
    process.stdout.write(versionText());
    return;
  }
  yargs(argv)
    .scriptName('tsoci')
    .usage('tsoci [global options] <command> [options]\n\nAn OCI container runtime (runtime-spec ' + SPEC_VERSION + ').')
    .option('root', { type: 'string', describe: 'root directory for container state (default /run/tsoci)' })
    .option('log', { type: 'string', describe: 'log file (errors are also written there)' })
    .option('log-format', { type: 'string', choices: ['text', 'json'], default: 'text' })
    .option('debug', { type: 'boolean', describe: 'enable debug logging' })
    .option('systemd-cgroup', { type: 'boolean', describe: 'use the systemd cgroup driver' })
    .option('rootless', { type: 'string', describe: 'ignore cgroup permission errors (true, false, auto)' })
    .option('criu', { type: 'string', hidden: true })
    .middleware((a) => {
      configureLog({ file: a.log as string | undefined, format: a['log-format'] === 'json' ? 'json' : 'text' });
      if (a.debug) enableDebug();
    })
    .command(createCommand)
    .command(startCommand)
    .command(stateCommand)
    .command(killCommand)
    .command(deleteCommand)
    .command(runCommandModule)
    .command(listCommand)
    .command(specCommand)
    .command(execCommand)
    .demandCommand(1, 'a command is required (see --help)')
    .strict()
    .version(false)
    .help()
    .fail((msg, err) => {
      logError(msg || err?.message || 'invalid arguments');
      process.exit(1);
    })
    .parse();
}
