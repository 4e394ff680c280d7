import type { CommandModule } from 'yargs';
import { writeOut } from '../util/out';
import { globalOptions, runCommand, type GlobalArgs } from './common';

type ListArgs = GlobalArgs & { format: string; quiet?: boolean };

export const listCommand: CommandModule<GlobalArgs, ListArgs> = {
  command: 'list',
  aliases: ['ls'],
  describe: 'list the containers under the root',
  builder: (y) =>
    y.option('format', { alias: 'f', choices: ['table', 'json'], default: 'table' })
      .option('quiet', { alias: 'q', type: 'boolean', describe: 'print only the ids' }) as never,
  handler: (argv) =>
    runCommand(async () => {
      const { list } = await import('../container/list');
      const views = list(globalOptions(argv), !!argv.root);
      if (argv.quiet) {
        writeOut(views.map((v) => v.id + '\n').join(''));
      } else if (argv.format === 'json') {
        writeOut(JSON.stringify(views) + '\n');
      } else {
        const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'],
          ...views.map((v) => [v.id, String(v.pid), v.status, v.bundle, v.created, v.owner])];
        const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
        writeOut(rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('   ').trimEnd() + '\n').join(''));
      }
    }),
};
