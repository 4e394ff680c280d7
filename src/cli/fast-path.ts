import type { CommandModule } from 'yargs';
import type { GlobalArgs } from './common';

/**
 * The short commands every manager calls most (state, start, kill, delete) parsed without
 * yargs, whose loading and parsing cost more than everything else those commands do.
 * Only exact, simple forms are taken; anything else (help, unknown flags, odd values)
 * returns undefined and goes through yargs, which defines the CLI. A unit test checks
 * that both parsers give the same arguments.
 */
export interface FastCommand {
  name: 'state' | 'start' | 'kill' | 'delete';
  args: Record<string, unknown> & GlobalArgs;
}

const GLOBAL_STRING = new Set(['root', 'log', 'log-format', 'rootless']);
const GLOBAL_BOOL = new Set(['debug', 'systemd-cgroup']);
const LOCAL_BOOL: Record<FastCommand['name'], Record<string, string>> = {
  state: {},
  start: {},
  kill: { all: 'all', a: 'all' },
  delete: { force: 'force', f: 'force' },
};
const POSITIONALS: Record<FastCommand['name'], number[]> = { state: [1, 1], start: [1, 1], kill: [1, 2], delete: [1, 1] };

export function parseFast(argv: string[]): FastCommand | undefined {
  const args: Record<string, unknown> = { 'log-format': 'text' };
  let i = 0;
  for (; i < argv.length && argv[i].startsWith('--'); i++) {
    const [flag, inline] = splitFlag(argv[i]);
    if (GLOBAL_BOOL.has(flag) && inline === undefined) args[flag] = true;
    else if (GLOBAL_STRING.has(flag)) {
      const value = inline ?? argv[++i];
      if (value === undefined || value.startsWith('-')) return undefined;
      args[flag] = value;
    } else return undefined;
  }
  if (args['log-format'] !== 'text' && args['log-format'] !== 'json') return undefined;
  const name = argv[i++] as FastCommand['name'];
  if (!(name in POSITIONALS)) return undefined;
  const positionals: string[] = [];
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('-')) {
      const key = LOCAL_BOOL[name][a.replace(/^--?/, '')];
      if (!key || (a.startsWith('--') ? a.length === 3 : a.length !== 2)) return undefined;
      args[key] = true;
    } else positionals.push(a);
  }
  const [min, max] = POSITIONALS[name];
  if (positionals.length < min || positionals.length > max || positionals[0] === '') return undefined;
  args.id = positionals[0];
  if (name === 'kill') args.signal = positionals[1] ?? 'SIGTERM';
  return { name, args: args as FastCommand['args'] };
}

function splitFlag(arg: string): [string, string | undefined] {
  const eq = arg.indexOf('=');
  return eq < 0 ? [arg.slice(2), undefined] : [arg.slice(2, eq), arg.slice(eq + 1)];
}

export type AnyCommand = CommandModule<GlobalArgs, any>;
