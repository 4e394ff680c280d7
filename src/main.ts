import type yargsType from 'yargs/yargs';
import type { CommandModule } from 'yargs';
import { parseFast } from './cli/fast-path';
import { withGlobalFlags } from './cli/common';
import { checkArgv, commandInfo, flagsOf } from './cli/usage';
import { configureLog, enableDebug, logError } from './util/log';
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
import { warmCommand } from './cli/warm';
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

const COMMANDS = [createCommand, startCommand, stateCommand, killCommand, deleteCommand, runCommandModule, listCommand, specCommand,
  featuresCommand, execCommand, psCommand, pauseCommand, resumeCommand, updateCommand, eventsCommand, checkpointCommand, restoreCommand, warmCommand] as CommandModule<any, any>[];

export function main(argv: string[]): void {
  trace('main');
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
    writeOut(versionText());
    return;
  }
  const fast = parseFast(argv);
  if (fast) {
    configureLog({ file: fast.args.log, format: fast.args['log-format'] === 'json' ? 'json' : 'text' });
    if (fast.args.debug) enableDebug();
    const command = { state: stateCommand, start: startCommand, kill: killCommand, delete: deleteCommand, create: createCommand, run: runCommandModule, list: listCommand, exec: execCommand }[fast.name];
    void command.handler(fast.args as never);
    return;
  }
  // yargs is loaded only when needed: it costs more than a short command's own work
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const yargs = require('yargs/yargs') as typeof yargsType;
  trace('yargs loaded');
  // one instance: its global flags are what the check knows; it parses the checked argv
  const cli = withGlobalFlags(yargs());
  const info = (c: CommandModule<any, any>) => commandInfo(yargs, c);
  const check = checkArgv(
    argv,
    flagsOf(cli),
    (name) => {
      const c = COMMANDS.find((m) => String(m.command).split(' ')[0] === name || ([] as string[]).concat(m.aliases ?? []).includes(name));
      return c && info(c);
    },
    () => COMMANDS.map(info),
    versionText().replace(/^tsoci version /, ''),
  );
  trace('arguments checked');
  // before anything can fail: a parse error goes to --log too, in its format
  configureLog({ file: check.global.log as string | undefined, format: check.global['log-format'] === 'json' ? 'json' : 'text' });
  if (check.global.debug) enableDebug();
  if (check.kind === 'version' || check.kind === 'help') {
    writeOut(check.kind === 'version' ? versionText() : check.text);
    return;
  }
  if (check.kind === 'error') {
    logError(check.message);
    process.exitCode = 1;
    return;
  }
  // yargs renders the whole help text after every command handler (to have it ready for a
  // later failure); our handlers report their own errors, so skip that work (~20 ms).
  (cli as unknown as { getInternalMethods(): { getUsageInstance(): { cacheHelpMessage(): void } } })
    .getInternalMethods().getUsageInstance().cacheHelpMessage = () => undefined;
  let y = cli.scriptName('tsoci');
  for (const c of COMMANDS) y = y.command(c);
  y.demandCommand(1, 'a command is required (see --help)')
    .strict()
    .version(false)
    .help(false)
    .fail((msg, err) => {
      logError(msg || err?.message || 'invalid arguments');
      process.exit(1);
    })
    .parse(check.argv);
}
