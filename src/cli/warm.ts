import type { CommandModule } from 'yargs';
import { TsociError } from '../util/errors';
import { runCommand, type GlobalArgs } from './common';

interface WarmArgs extends GlobalArgs {
  action: string;
  workers?: number;
  format?: string;
}

/** `tsoci warm start|stop|status`: the opt-in pool of warm workers (src/warm, README "Warm pool"). */
export const warmCommand: CommandModule<GlobalArgs, WarmArgs> = {
  command: 'warm <action>',
  describe: 'start, stop or show the pool of warm workers (start [--workers N] | stop | status [--format json])',
  builder: (y) =>
    y
      .positional('action', { type: 'string', describe: 'start, stop or status', demandOption: true })
      .option('workers', { type: 'string', describe: 'start: workers kept waiting (default 2)' })
      .option('format', { alias: 'f', type: 'string', describe: 'status: table or json (default table)' }) as never,
  handler: (argv) =>
    runCommand(async () => {
      const { requirePoolPaths } = await import('../warm/paths');
      const control = await import('../warm/control');
      const paths = requirePoolPaths();
      const workers = parseWorkers(argv.workers);
      if (argv.action !== 'start' && argv.action !== 'supervise' && argv.workers !== undefined) throw new TsociError(`warm ${argv.action}: --workers is for warm start`);
      if (argv.format !== undefined && argv.format !== 'json' && argv.format !== 'table') throw new TsociError(`invalid format option "${argv.format}": want table or json`);
      switch (argv.action) {
        case 'start':
          return control.startPool(paths, workers);
        case 'stop':
          return control.stopPool(paths);
        case 'status':
          return control.showStatus(paths, argv.format);
        case 'supervise':
          return control.supervise(paths, workers);
        default:
          throw new TsociError(`warm: unknown action "${argv.action}" (want start, stop or status)`);
      }
    }),
};

const MAX_WORKERS = 64;

function parseWorkers(v: unknown): number {
  if (v === undefined) return 2;
  const n = Number(v);
  if (!/^\d+$/.test(String(v)) || n < 1 || n > MAX_WORKERS) throw new TsociError(`invalid --workers value "${v}": want a whole number from 1 to ${MAX_WORKERS}`);
  return n;
}
