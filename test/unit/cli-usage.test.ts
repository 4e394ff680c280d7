import yargs from 'yargs/yargs';
import type { CommandModule } from 'yargs';
import { checkArgv, commandInfo, flagsOf, type CommandInfo } from '../../src/cli/usage';
import { parseFast } from '../../src/cli/fast-path';
import { withGlobalFlags } from '../../src/cli/common';
import { createCommand } from '../../src/cli/create';
import { runCommandModule } from '../../src/cli/run';
import { stateCommand } from '../../src/cli/state';
import { killCommand } from '../../src/cli/kill';
import { deleteCommand } from '../../src/cli/delete';
import { listCommand } from '../../src/cli/list';
import { startCommand } from '../../src/cli/start';
import { execCommand } from '../../src/cli/exec';
import { psCommand } from '../../src/cli/ps';
import { execCgroupDirs, parseSubCgroups } from '../../src/container/exec-cgroups';
import { dedupEnv } from '../../src/plan/process';

const COMMANDS = [createCommand, runCommandModule, stateCommand, killCommand, deleteCommand, listCommand, startCommand, execCommand, psCommand] as CommandModule<any, any>[];
const GLOBAL = flagsOf(withGlobalFlags(yargs([])));
const lookup = (n: string): CommandInfo | undefined => {
  const c = COMMANDS.find((m) => String(m.command).split(' ')[0] === n || ([] as string[]).concat(m.aliases ?? []).includes(n));
  return c && commandInfo(yargs, c);
};
const check = (argv: string[]) => checkArgv(argv, GLOBAL, lookup, () => COMMANDS.map((c) => commandInfo(yargs, c)));

describe('the flags come from the yargs definitions', () => {
  test('global flags: names, aliases, value or not', () => {
    const byName = Object.fromEntries(GLOBAL.map((f) => [f.name, f]));
    expect(byName.root.takesValue).toBe(true);
    expect(byName.debug.takesValue).toBe(false);
    expect(byName['log-format'].takesValue).toBe(true);
    expect(byName.criu.takesValue).toBe(true);
    expect(byName.criu.hidden).toBeFalsy();
  });

  test('a command: positionals are not flags; aliases are kept', () => {
    const run = lookup('run')!;
    expect(run.flags.find((f) => f.name === 'id')).toBeUndefined();
    expect(run.flags.find((f) => f.name === 'bundle')).toMatchObject({ aliases: ['b'], takesValue: true });
    expect(run.flags.find((f) => f.name === 'detach')).toMatchObject({ aliases: ['d'], takesValue: false });
    expect(lookup('ls')?.name).toBe('list');
  });
});

describe('checkArgv', () => {
  test('passes what it accepts on to yargs, Go-style -flag made --flag', () => {
    expect(check(['-root', '/r', 'run', '-bundle', '/b', '-d', 'c1'])).toMatchObject({ kind: 'parse', argv: ['--root', '/r', 'run', '--bundle', '/b', '-d', 'c1'] });
    expect(check(['--log=/l', 'state', 'c1'])).toMatchObject({ kind: 'parse', global: { log: '/l' } });
    expect(check(['create', '--no-pivot=false', 'c1'])).toMatchObject({ kind: 'parse', argv: ['create', '--no-pivot=false', 'c1'] });
  });

  test('exec and ps: flags end at the id; the rest is the process\'s', () => {
    expect(check(['exec', '-t', 'c1', 'ls', '--bogus', '-h'])).toMatchObject({ kind: 'parse', argv: ['exec', '-t', 'c1', 'ls', '--bogus', '-h'] });
    expect(check(['ps', 'c1', '-ef'])).toMatchObject({ kind: 'parse' });
  });

  test('refusals, help, version', () => {
    expect(check(['--nope', 'state', 'c1'])).toMatchObject({ kind: 'error', message: 'flag provided but not defined: -nope' });
    expect(check(['--log', '/l', '--nope'])).toMatchObject({ kind: 'error', global: { log: '/l' } });
    expect(check(['state', '-h'])).toMatchObject({ kind: 'help' });
    expect(check(['help', 'nope'])).toMatchObject({ kind: 'error', message: "No help topic for 'nope'" });
    expect(check(['--debug', '-v'])).toMatchObject({ kind: 'version', global: { debug: true } });
    expect(check(['kill', 'c1', '-9'])).toMatchObject({ kind: 'error', message: 'flag provided but not defined: -9' });
  });
});

describe('the fast path agrees with the checker', () => {
  const TAKEN = [
    ['state', 'c1'], ['--root', '/run/x', 'state', 'c1'], ['delete', '-f', 'abc'], ['kill', '--all', 'c1', 'SIGKILL'],
    ['--log-format=json', '--log', '/l', 'create', '--bundle', '/b', '--pid-file', '/p', '--console-socket', '/s', '--preserve-fds', '1', 'c1'],
    ['create', 'c1', '--bundle=/x', '--no-pivot', '--no-new-keyring'], ['run', '-d', '--pid-file', 'p', '-b', '/x', 'c1'],
    ['list', '-f', 'table', '-q'],
  ];
  test.each(TAKEN.map((a) => [a.join(' '), a]))('"%s": both accept it', (_n, argv) => {
    expect(parseFast(argv)).toBeDefined();
    expect(check(argv).kind).toBe('parse');
  });
});

describe('exec --cgroup', () => {
  const base = { memory: '/cg/memory/c', cpu: '/cg/cpu/c', cpuacct: '/cg/cpuacct/c', '': '/cg/unified/c' };
  test('one path: the same sub-cgroup everywhere; per controller: only those', () => {
    expect(execCgroupDirs(base, parseSubCgroups(['sub']))).toEqual({ memory: '/cg/memory/c/sub', cpu: '/cg/cpu/c/sub', cpuacct: '/cg/cpuacct/c/sub', '': '/cg/unified/c/sub' });
    expect(execCgroupDirs(base, parseSubCgroups(['/']))).toEqual(base);
    expect(execCgroupDirs(base, parseSubCgroups(['memory:m', 'cpu,cpuacct:x/y']))).toEqual({ ...base, memory: '/cg/memory/c/m', cpu: '/cg/cpu/c/x/y', cpuacct: '/cg/cpuacct/c/x/y' });
    expect(execCgroupDirs(base, parseSubCgroups([]))).toEqual(base);
  });
  test('refusals', () => {
    expect(() => execCgroupDirs(base, parseSubCgroups(['..']))).toThrow('bad sub cgroup path: ..');
    expect(() => execCgroupDirs(base, parseSubCgroups(['a/../../c2']))).toThrow('bad sub cgroup path');
    expect(() => execCgroupDirs(base, parseSubCgroups(['pids:x']))).toThrow('unknown controller pids in --cgroup');
    expect(() => parseSubCgroups(['a', 'b'])).toThrow('missing <controller>: prefix');
    expect(() => parseSubCgroups([',memory:x'])).toThrow('empty <controller> prefix');
    expect(() => parseSubCgroups(['memory:a', 'cpu,memory:b'])).toThrow('controller memory specified multiple times');
  });
});

describe('dedupEnv (runc prepareEnv)', () => {
  test('the last value of a key wins, at its place; an empty HOME is dropped', () => {
    expect(dedupEnv(['A=1', 'B=2', 'A=3'])).toEqual(['B=2', 'A=3']);
    expect(dedupEnv(['HOME=/x', 'HOME='])).toEqual([]);
    expect(dedupEnv(['HOME=', 'HOME=/x'])).toEqual(['HOME=/x']);
    expect(dedupEnv(['X=a\nb', 'Y=='])).toEqual(['X=a\nb', 'Y==']);
  });
});

describe('a flag given twice', () => {
  test('the last wins (Go), a list flag keeps every value', () => {
    expect(check(['--root', '', '-root', '/r', 'state', '--root=/s', 'c1'])).toMatchObject({ kind: 'parse', argv: ['state', '--root=/s', 'c1'] });
    expect(check(['exec', '-e', 'A=1', '--env', 'B=2', '--cwd', '/a', '--cwd', '/b', 'c1', 'true']))
      .toMatchObject({ kind: 'parse', argv: ['exec', '-e', 'A=1', '--env', 'B=2', '--cwd', '/b', 'c1', 'true'] });
  });
});

test('"--" ends the global flags', () => {
  expect(check(['--root', '/r', '--', 'state', 'c1'])).toMatchObject({ kind: 'parse', argv: ['--root', '/r', 'state', 'c1'] });
});
