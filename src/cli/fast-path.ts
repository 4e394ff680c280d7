import type { GlobalArgs } from './common';

/**
 * The commands managers call on every container (create, start, state, kill, delete, and
 * run, and list, which podman and scripts poll, and exec of a process.json, as shims and
 * conmon run it for every probe) parsed without yargs, whose loading and parsing cost more
 * than everything else a short command does (~15 ms of a cold exec). Only exact, simple forms are taken; anything else (help, unknown
 * flags, odd values) returns undefined and goes through yargs, which defines the CLI.
 * A unit test checks that both parsers give the same arguments.
 */
export type FastName = 'state' | 'start' | 'kill' | 'delete' | 'create' | 'run' | 'list' | 'exec';

export interface FastCommand {
  name: FastName;
  args: Record<string, unknown> & GlobalArgs;
}

type FlagType = 'string' | 'boolean' | 'number';
interface CommandShape {
  flags: Record<string, FlagType>;
  aliases: Record<string, string>;
  positionals: string[];
  /** how many positionals are required */
  required: number;
  defaults: Record<string, unknown>;
  /** string flags that take only these values (anything else: yargs reports it) */
  choices?: Record<string, string[]>;
  /** flags without which the form is not taken */
  requiredFlags?: string[];
}

const GLOBAL: Record<string, FlagType> = { root: 'string', log: 'string', 'log-format': 'string', rootless: 'string', debug: 'boolean', 'systemd-cgroup': 'boolean' };
const CREATE_FLAGS: Record<string, FlagType> = { bundle: 'string', 'pid-file': 'string', 'console-socket': 'string', 'pidfd-socket': 'string', 'no-pivot': 'boolean', 'no-new-keyring': 'boolean', 'preserve-fds': 'number' };
const CREATE_DEFAULTS = { bundle: '.', 'preserve-fds': 0 };
const SHAPES: Record<FastName, CommandShape> = {
  state: { flags: {}, aliases: {}, positionals: ['id'], required: 1, defaults: {} },
  start: { flags: {}, aliases: {}, positionals: ['id'], required: 1, defaults: {} },
  kill: { flags: { all: 'boolean' }, aliases: { a: 'all' }, positionals: ['id', 'signal'], required: 1, defaults: { signal: 'SIGTERM' } },
  delete: { flags: { force: 'boolean' }, aliases: { f: 'force' }, positionals: ['id'], required: 1, defaults: {} },
  create: { flags: CREATE_FLAGS, aliases: { b: 'bundle' }, positionals: ['id'], required: 1, defaults: CREATE_DEFAULTS },
  run: {
    flags: { ...CREATE_FLAGS, detach: 'boolean', keep: 'boolean', 'no-subreaper': 'boolean' },
    aliases: { b: 'bundle', d: 'detach' },
    positionals: ['id'],
    required: 1,
    defaults: CREATE_DEFAULTS,
  },
  list: {
    flags: { format: 'string', quiet: 'boolean' },
    aliases: { f: 'format', q: 'quiet' },
    positionals: [],
    required: 0,
    defaults: { format: 'table' },
    choices: { format: ['table', 'json'] },
  },
  // only `exec [flags] --process <file> <id>`: a command after the id, or any flag that
  // shapes the process (--tty, --env, --user, ...), goes through yargs
  exec: {
    flags: { process: 'string', 'console-socket': 'string', 'pidfd-socket': 'string', 'pid-file': 'string', detach: 'boolean', 'preserve-fds': 'number', 'ignore-paused': 'boolean' },
    aliases: { p: 'process', d: 'detach' },
    positionals: ['id'],
    required: 1,
    defaults: { 'preserve-fds': 0, command: [] },
    requiredFlags: ['process'],
  },
};

export function parseFast(argv: string[]): FastCommand | undefined {
  const args: Record<string, unknown> = { 'log-format': 'text' };
  let i = takeFlags(argv, 0, GLOBAL, {}, args, true);
  if (i < 0 || (args['log-format'] !== 'text' && args['log-format'] !== 'json')) return undefined;
  const name = argv[i++] as FastName;
  const shape = Object.prototype.hasOwnProperty.call(SHAPES, name) ? SHAPES[name] : undefined;
  if (!shape) return undefined;
  Object.assign(args, shape.defaults);
  const positionals: string[] = [];
  while (i < argv.length) {
    if (argv[i].startsWith('-')) {
      i = takeFlags(argv, i, shape.flags, shape.aliases, args, false);
      if (i < 0) return undefined;
    } else {
      positionals.push(argv[i++]);
    }
  }
  if (positionals.length < shape.required || positionals.length > shape.positionals.length || positionals[0] === '') return undefined;
  for (const [flag, allowed] of Object.entries(shape.choices ?? {})) if (!allowed.includes(args[flag] as string)) return undefined;
  for (const flag of shape.requiredFlags ?? []) if (args[flag] === undefined) return undefined;
  positionals.forEach((p, k) => (args[shape.positionals[k]] = p));
  return { name, args: args as FastCommand['args'] };
}

/** Consumes flags from argv[i]; returns the next index, or -1 to decline. */
function takeFlags(argv: string[], i: number, flags: Record<string, FlagType>, aliases: Record<string, string>, out: Record<string, unknown>, stopAtPositional: boolean): number {
  for (; i < argv.length && argv[i].startsWith('-'); i++) {
    const arg = argv[i];
    const long = arg.startsWith('--');
    const eq = arg.indexOf('=');
    const raw = arg.slice(long ? 2 : 1, eq < 0 ? undefined : eq);
    const name = long ? raw : aliases[raw];
    if (!name || !Object.prototype.hasOwnProperty.call(flags, name) || (!long && raw.length !== 1)) return -1;
    const type = flags[name];
    if (type === 'boolean') {
      if (eq >= 0) return -1;
      out[name] = true;
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith('-'))) return -1;
    if (type === 'number') {
      if (!/^\d+$/.test(value)) return -1;
      out[name] = Number(value);
    } else {
      out[name] = value;
    }
    if (!stopAtPositional) return i + 1;
  }
  return i;
}
