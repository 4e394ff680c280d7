import type yargsType from 'yargs/yargs';
import { parseFast } from './cli/fast-path';
import { withGlobalFlags } from './cli/common';
import { configureLog, enableDebug, logError } from './cli/log';
import { createCommand } from './cli/create';
import { startCommand } from './cli/start';
import { stateCommand } from './cli/state';
import { killCommand } from './cli/kill';
import { deleteCommand } from './cli/delete';
import { runCommandModule } from './cli/run';
import { listCommand } from './cli/list';
import { specCommand } from './cli/spec';
import { featuresCommand } from './cli/features';
import { execCommand } from './cli/exec';
import { psCommand } from './cli/ps';
import { pauseCommand } from './cli/pause';
import { resumeCommand } from './cli/resume';
import { updateCommand } from './cli/update';
import { eventsCommand } from './cli/events';
import { checkpointCommand } from './cli/checkpoint';
import { restoreCommand } from './cli/restore';
import { writeOut } from './util/out';
import { trace } from './util/trace';

declare const TSOCI_VERSION: string;
declare const TSOCI_COMMIT: string;
const VERSION = typeof TSOCI_VERSION === 'string' ? TSOCI_VERSION : '0.0.0-dev';
const COMMIT = typeof TSOCI_COMMIT === 'string' ? TSOCI_COMMIT : 'unknown';
export const SPEC_VERSION = '1.3.0';

function versionText(): string {
  return `tsoci version ${VERSION}\ncommit: ${COMMIT}\nspec: ${SPEC_VERSION}\nnode: ${process.version}\n`;
}

export function main(argv: string[]): void {
  trace('main');
  if (argv.includes('--version') || (argv.length === 1 && argv[0] === '-v')) {
    writeOut(versionText());
    return;
  }
  const fast = parseFast(argv);
  if (fast) {
    configureLog({ file: fast.args.log, format: fast.args['log-format'] === 'json' ? 'json' : 'text' });
    if (fast.args.debug) enableDebug();
    const command = { state: stateCommand, start: startCommand, kill: killCommand, delete: deleteCommand, create: createCommand, run: runCommandModule, list: listCommand }[fast.name];
    void command.handler(fast.args as never);
    return;
  }
  // yargs is loaded only when needed: it costs more than a short command's own work
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const yargs = require('yargs/yargs') as typeof yargsType;
  const cli = yargs(argv);
  // yargs renders the whole help text after every command handler (to have it ready for a
  // later failure); our handlers report their own errors, so skip that work (~20 ms).
  (cli as unknown as { getInternalMethods(): { getUsageInstance(): { cacheHelpMessage(): void } } })
    .getInternalMethods().getUsageInstance().cacheHelpMessage = () => undefined;
  withGlobalFlags(cli)
    .scriptName('tsoci')
    .usage('tsoci [global options] <command> [options]\n\nAn OCI container runtime (runtime-spec ' + SPEC_VERSION + ').')
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
    .command(featuresCommand)
    .command(execCommand)
    .command(psCommand)
    .command(pauseCommand)
    .command(resumeCommand)
    .command(updateCommand)
    .command(eventsCommand)
    .command(checkpointCommand)
    .command(restoreCommand)
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
