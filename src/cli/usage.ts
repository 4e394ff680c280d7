import type { Argv, CommandModule } from 'yargs';
import type yargsType from 'yargs/yargs';

/**
 * runc's command line rules, checked before yargs parses (yargs takes an unknown `--flag`
 * as a flag with a value and says something else, or nothing): an unknown flag anywhere
 * is refused with runc's text, `-h`/`--help` and `help [command]` print a runc-style help,
 * and a Go-style single-dash long flag (`-bundle x`) means `--bundle x`. The flags come
 * from the yargs definitions themselves, so there is one definition of the CLI.
 */

export interface Flag {
  name: string;
  aliases: string[];
  takesValue: boolean;
  /** a list (--env, --cgroup…): every occurrence counts; any other flag: the last wins */
  array?: boolean;
  describe?: string;
  hidden: boolean;
}

export interface CommandInfo {
  name: string;
  aliases: string[];
  /** the yargs command string, e.g. "kill <id> [signal]" */
  usage: string;
  describe: string;
  flags: Flag[];
  /** flags end at the first positional (exec, ps: the rest belongs to the process) */
  flagsEndAtPositional: boolean;
}

export type Check =
  | { kind: 'parse'; argv: string[]; global: Record<string, string | boolean> }
  | { kind: 'help'; text: string; global: Record<string, string | boolean> }
  | { kind: 'version'; global: Record<string, string | boolean> }
  | { kind: 'error'; message: string; global: Record<string, string | boolean> };

type Yargs = typeof yargsType;

/** The flags yargs knows on an instance (positionals and yargs' own help/version left out). */
export function flagsOf(y: Argv<unknown>, positionals: string[] = []): Flag[] {
  const o = (y as unknown as { getOptions(): YargsOptions }).getOptions();
  const descriptions = (y as unknown as { getInternalMethods(): { getUsageInstance(): { getDescriptions(): Record<string, string | undefined> } } })
    .getInternalMethods().getUsageInstance().getDescriptions();
  const aliasOf = new Set(Object.values(o.alias).flat());
  const flags: Flag[] = [];
  for (const name of Object.keys(o.key)) {
    if (name === 'help' || name === 'version' || positionals.includes(name) || aliasOf.has(name)) continue;
    flags.push({
      name,
      aliases: o.alias[name] ?? [],
      takesValue: !o.boolean.includes(name),
      array: o.array.includes(name),
      describe: descriptions[name],
      hidden: o.hiddenOptions.includes(name),
    });
  }
  return flags;
}

interface YargsOptions {
  key: Record<string, boolean>;
  boolean: string[];
  array: string[];
  alias: Record<string, string[]>;
  hiddenOptions: string[];
}

export function commandInfo(yargs: Yargs, cmd: CommandModule<any, any>): CommandInfo {
  const usage = String(cmd.command);
  const [name, ...rest] = usage.split(' ');
  const positionals = rest.map((p) => p.replace(/[<>[\].]/g, ''));
  const y = yargs([]);
  if (typeof cmd.builder === 'function') (cmd.builder as (y: Argv<unknown>) => unknown)(y);
  const flags = flagsOf(y, positionals);
  // runc's `spec --rootless` is a boolean of its own; tsoci's spec reads the global string
  // option (a yargs redeclaration would clash), which a bare --rootless sets to ""
  if (name === 'spec') flags.unshift({ name: 'rootless', aliases: [], takesValue: false, describe: 'generate a configuration for a rootless container', hidden: false });
  return {
    name,
    aliases: ([] as string[]).concat(cmd.aliases ?? []),
    usage,
    describe: typeof cmd.describe === 'string' ? cmd.describe : '',
    flags,
    flagsEndAtPositional: name === 'exec' || name === 'ps',
  };
}

function findFlag(flags: Flag[], name: string): Flag | undefined {
  return flags.find((f) => f.name === name || f.aliases.includes(name));
}

/**
 * Walks argv the way runc's parser does. `commands` is looked up lazily: only the named
 * command's builder runs. Returns the argv for yargs (single-dash long flags made double).
 */
export function checkArgv(
  argv: string[],
  globalFlags: Flag[],
  lookup: (name: string) => CommandInfo | undefined,
  all: () => CommandInfo[],
  /** the lines of the help's VERSION section (runc's: the version, commit, spec...) */
  versionText = '',
): Check {
  const global: Record<string, string | boolean> = {};
  const out = new ArgvOut();
  let i = 0;
  let version = false;
  // global flags
  for (; i < argv.length && argv[i].startsWith('-') && argv[i] !== '-'; i++) {
    if (argv[i] === '--') {
      i++; // Go's flag package: "--" ends the flags
      break;
    }
    const r = takeFlag(argv, i, globalFlags, out, global, true);
    if (r === 'help') return { kind: 'help', text: globalHelp(globalFlags, all(), versionText), global };
    if (r === 'version') version = true;
    else if (typeof r === 'string') return { kind: 'error', message: r, global };
    else i = r;
  }
  if (version) return { kind: 'version', global };
  if (i >= argv.length) return { kind: 'help', text: globalHelp(globalFlags, all(), versionText), global };
  const name = argv[i];
  if (name === 'help' || name === 'h') {
    const topic = argv[i + 1];
    if (topic === undefined) return { kind: 'help', text: globalHelp(globalFlags, all(), versionText), global };
    const c = lookup(topic);
    return c ? { kind: 'help', text: commandHelp(c), global } : { kind: 'error', message: `No help topic for '${topic}'`, global };
  }
  const cmd = lookup(name);
  if (!cmd) return { kind: 'error', message: `No help topic for '${name}'`, global };
  out.word(name);
  // urfave/cli v3 (runc's): the global flags are also accepted after the command
  const flags = [...cmd.flags, ...globalFlags];
  let positionals = 0;
  for (i++; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--' || ((!a.startsWith('-') || a === '-') && cmd.flagsEndAtPositional)) {
      positionals += argv.slice(i).filter((w) => w !== '--').length;
      out.word(...argv.slice(i));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      positionals++;
      out.word(a);
      continue;
    }
    const r = takeFlag(argv, i, flags, out, {}, false);
    if (r === 'help') return { kind: 'help', text: commandHelp(cmd), global };
    if (typeof r === 'string') return { kind: 'error', message: r, global };
    i = r;
  }
  const count = argCountError(cmd, positionals);
  if (count) return { kind: 'error', message: count, global };
  return { kind: 'parse', argv: out.argv(), global };
}

/** runc's checkArgs: `"state" requires exactly 1 argument(s)` and its minimum/maximum forms. */
function argCountError(cmd: CommandInfo, n: number): string | undefined {
  const words = cmd.usage.split(' ').slice(1);
  const min = words.filter((w) => w.startsWith('<')).length;
  const max = words.some((w) => w.endsWith('..]') || w.endsWith('..>')) ? Infinity : words.length;
  if (n >= min && n <= max) return undefined;
  const how = min === max ? 'exactly' : n < min ? 'a minimum of' : 'a maximum of';
  return `"${cmd.name}" requires ${how} ${n < min ? min : max} argument(s)`;
}

/**
 * The argv handed to yargs. A flag given again replaces its earlier occurrence (Go's flag
 * package: the last wins; yargs would make an array of a string flag), a list flag keeps all.
 */
class ArgvOut {
  private readonly parts: string[][] = [];
  private readonly at = new Map<string, number>();
  word(...words: string[]): void {
    this.parts.push(words);
  }
  flag(f: Flag, ...words: string[]): void {
    if (!f.array) {
      const k = this.at.get(f.name);
      if (k !== undefined) this.parts[k] = [];
      this.at.set(f.name, this.parts.length);
    }
    this.parts.push(words);
  }
  argv(): string[] {
    return this.parts.flat();
  }
}

/** Takes the flag at argv[i] into out; returns the index of its last word, or what it is. */
function takeFlag(argv: string[], i: number, flags: Flag[], out: ArgvOut, values: Record<string, string | boolean>, global: boolean): number | 'help' | 'version' | string {
  const arg = argv[i];
  const eq = arg.indexOf('=');
  const dashes = arg.startsWith('--') ? 2 : 1;
  const name = arg.slice(dashes, eq < 0 ? undefined : eq);
  if (name === 'help' || name === 'h') return 'help';
  if ((name === 'version' || name === 'v') && global && eq < 0) return 'version';
  const flag = findFlag(flags, name);
  // Go's flag package: -name and --name are the same flag
  if (!flag || name === '') return `flag provided but not defined: -${name}`;
  const spelled = name.length === 1 ? `-${name}` : `--${name}`;
  if (!flag.takesValue) {
    if (eq >= 0) {
      const v = arg.slice(eq + 1);
      if (v !== 'true' && v !== 'false') return `invalid boolean value "${v}" for -${name}`;
      // "--no-new-privs=false" is not "absent" (exec: it overrides the process's value)
      if (name.length > 1) out.flag(flag, `${spelled}=${v}`);
      else out.flag(flag, ...(v === 'true' ? [spelled] : []));
      values[flag.name] = v === 'true';
      return i;
    }
    out.flag(flag, spelled);
    values[flag.name] = true;
    return i;
  }
  if (eq >= 0) {
    out.flag(flag, `${spelled}=${arg.slice(eq + 1)}`);
    values[flag.name] = arg.slice(eq + 1);
    return i;
  }
  if (i + 1 >= argv.length) return `flag needs an argument: -${name}`;
  out.flag(flag, spelled, argv[i + 1]);
  values[flag.name] = argv[i + 1];
  return i + 1;
}

function flagLines(flags: Flag[], extra: string[][] = []): string[] {
  const rows = flags.filter((f) => !f.hidden).map((f) => {
    const names = [f.name, ...f.aliases].map((n) => (n.length === 1 ? `-${n}` : `--${n}`)).join(', ');
    return [f.takesValue ? `${names} value` : names, f.describe ?? ''];
  });
  rows.push(['--help, -h', 'show help'], ...extra);
  return table(rows);
}

function table(rows: string[][]): string[] {
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([a, b]) => `   ${a.padEnd(w)}  ${b}`.trimEnd());
}

const ABOUT = 'Open Container Initiative runtime';

/** runc's layout: NAME, what it is, USAGE, VERSION, COMMANDS, GLOBAL OPTIONS. */
export function globalHelp(globalFlags: Flag[], commands: CommandInfo[], version = ''): string {
  const cmds = table([...commands.map((c) => [[c.name, ...c.aliases].join(', '), c.describe]), ['help, h', 'Shows a list of commands or help for one command']]);
  const versionLines = version.trim() ? ['VERSION:', ...version.trim().split('\n').map((l, i) => (i === 0 ? `   ${l}` : l)), ''] : [];
  return ['NAME:', `   tsoci - ${ABOUT}`, '',
    'tsoci is an OCI container runtime compatible with runc: containers are configured using',
    'bundles, a directory with a "config.json" and a root filesystem.', '',
    'To start a new instance of a container:', '', '    # tsoci run [ -b bundle ] <container-id>', '',
    'USAGE:', '   tsoci [global options] command [command options] [arguments...]', '', ...versionLines,
    'COMMANDS:', ...cmds, '', 'GLOBAL OPTIONS:', ...flagLines(globalFlags, [['--version, -v', 'print the version']]), ''].join('\n');
}

export function commandHelp(c: CommandInfo): string {
  const args = c.usage.split(' ').slice(1).map((p) => p.replace(/^<id>$/, '<container-id>')).join(' ');
  return ['NAME:', `   tsoci ${c.name} - ${c.describe}`, '', 'USAGE:', `   tsoci ${c.name} [command options] ${args}`.trimEnd(), '', 'OPTIONS:', ...flagLines(c.flags), ''].join('\n');
}
