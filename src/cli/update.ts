import type { CommandModule } from 'yargs';
import { globalOptions, runCommand, withId, type GlobalArgs } from './common';
import { writeErr } from '../util/out';

const KNOBS = [
  'blkio-weight', 'cpu-period', 'cpu-quota', 'cpu-burst', 'cpu-share', 'cpu-rt-period', 'cpu-rt-runtime', 'cpu-idle',
  'cpuset-cpus', 'cpuset-mems', 'memory', 'memory-reservation', 'memory-swap', 'kernel-memory', 'kernel-memory-tcp',
  'pids-limit', 'l3-cache-schema', 'mem-bw-schema',
] as const;
type Knob = (typeof KNOBS)[number];
type UpdateArgs = GlobalArgs & { id: string; resources?: string } & Partial<Record<Knob, string>>;

const DESCRIBE: Record<Knob, string> = {
  'blkio-weight': 'per cgroup block IO weight, 10 to 1000',
  'cpu-period': 'CPU CFS period (µs); 0 for the system default',
  'cpu-quota': 'CPU CFS quota (µs) per period',
  'cpu-burst': 'CPU CFS burst (µs)',
  'cpu-share': 'CPU shares (relative weight)',
  'cpu-rt-period': 'CPU real-time period (µs)',
  'cpu-rt-runtime': 'CPU real-time runtime (µs) per period',
  'cpu-idle': 'cgroup SCHED_IDLE: 0 or 1',
  'cpuset-cpus': 'CPUs to use (e.g. 0-1)',
  'cpuset-mems': 'memory nodes to use',
  memory: 'memory limit (bytes, or 512m, 1g, …; -1 for unlimited)',
  'memory-reservation': 'memory soft limit',
  'memory-swap': "memory + swap limit; '-1' for unlimited swap",
  'kernel-memory': '(obsolete, ignored)',
  'kernel-memory-tcp': '(obsolete, ignored)',
  'pids-limit': 'maximum number of processes',
  'l3-cache-schema': 'Intel RDT/CAT L3 cache schema',
  'mem-bw-schema': 'Intel RDT/MBA memory bandwidth schema',
};

export const updateCommand: CommandModule<GlobalArgs, UpdateArgs> = {
  command: 'update <id>',
  describe: 'update the resource limits of a container',
  builder: (y) => {
    let b = withId(y).option('resources', {
      alias: 'r',
      type: 'string',
      // containerd's shim sends `--resources - <id>`: yargs leaves a lone "-" after an
      // option unconsumed (it reads it as a positional) unless the option takes one argument
      nargs: 1,
      describe: "file with a LinuxResources JSON document, or '-' for stdin (the knob flags are then ignored)",
    });
    for (const k of KNOBS) {
      b = b.option(k, { type: 'string', describe: DESCRIBE[k], hidden: k.startsWith('kernel-memory') }) as typeof b;
    }
    return b as never;
  },
  handler: (argv) =>
    runCommand(async () => {
      const { resourcesFromArgs } = await import('./update-args');
      const { update } = await import('../container/update');
      const resources = resourcesFromArgs(argv);
      if (argv['kernel-memory'] !== undefined || argv['kernel-memory-tcp'] !== undefined) {
        writeErr('warning: kernel memory settings are ignored and will be removed\n');
      }
      await update({
        ...globalOptions(argv),
        id: argv.id,
        resources,
        l3CacheSchema: argv['l3-cache-schema'] || undefined,
        memBwSchema: argv['mem-bw-schema'] || undefined,
      });
    }),
};
