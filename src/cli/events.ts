import type { CommandModule } from 'yargs';
import { globalOptions, runCommand, withId, type GlobalArgs } from './common';
import { writeOut } from '../util/out';

type EventsArgs = GlobalArgs & { id: string; stats?: boolean; interval?: string };

export const eventsCommand: CommandModule<GlobalArgs, EventsArgs> = {
  command: 'events <id>',
  describe: 'print container events (stats every interval, OOM notifications) as JSON lines',
  builder: (y) =>
    withId(y)
      .option('interval', { type: 'string', default: '5s', describe: 'stats interval (a duration: 5s, 500ms, 1m)' })
      .option('stats', { type: 'boolean', describe: "print the container's stats once, then exit" }) as never,
  handler: (argv) =>
    runCommand(async () => {
      const { parseDuration } = await import('../util/units');
      const { events } = await import('../container/events');
      await events(
        { ...globalOptions(argv), id: argv.id, stats: argv.stats, intervalMs: parseDuration(String(argv.interval ?? '5s')) },
        (line) => writeOut(line),
      );
    }),
};
