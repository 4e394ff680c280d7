import yargs from 'yargs/yargs';
import type { CommandModule } from 'yargs';
import { parseFast } from '../../src/cli/fast-path';
import { withGlobalFlags, type GlobalArgs } from '../../src/cli/common';
import { stateCommand } from '../../src/cli/state';
import { startCommand } from '../../src/cli/start';
import { killCommand } from '../../src/cli/kill';
import { deleteCommand } from '../../src/cli/delete';
import { createCommand } from '../../src/cli/create';
import { runCommandModule } from '../../src/cli/run';
import { listCommand } from '../../src/cli/list';
import { execCommand } from '../../src/cli/exec';

// The fast path must mean exactly what yargs (which defines the CLI) means, or decline.
const KEYS = ['root', 'log', 'log-format', 'debug', 'systemd-cgroup', 'rootless', 'id', 'signal', 'all', 'force', 'bundle', 'pid-file', 'pidfd-socket',
  'console-socket', 'no-pivot', 'no-new-keyring', 'preserve-fds', 'detach', 'keep', 'no-subreaper', 'format', 'quiet', 'process', 'ignore-paused', 'command',
  'tty', 'cwd', 'env', 'user', 'cap', 'cgroup'];

function viaYargs(argv: string[]): { name: string; args: Record<string, unknown> } | undefined {
  let got: { name: string; args: Record<string, unknown> } | undefined;
  const capture = (name: string, cmd: CommandModule<GlobalArgs, any>) => ({
    ...cmd,
    handler: (a: Record<string, unknown>) => {
      got = { name, args: a };
    },
  });
  withGlobalFlags(yargs(argv))
    .command(capture('state', stateCommand))
    .command(capture('start', startCommand))
    .command(capture('kill', killCommand))
    .command(capture('delete', deleteCommand))
    .command(capture('create', createCommand))
    .command(capture('run', runCommandModule))
    .command(capture('list', listCommand))
    .command(capture('exec', execCommand))
    .strict()
    .parserConfiguration({ 'boolean-negation': false })
    .exitProcess(false)
    .fail(() => undefined)
    .parse();
  return got;
}

function pick(args: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(KEYS.filter((k) => args[k] !== undefined && args[k] !== false).map((k) => [k, args[k]]));
}

const TAKEN = [
  ['state', 'c1'],
  ['--root', '/run/x', 'state', 'c1'],
  ['--root=/run/x', '--log', '/tmp/l.json', '--log-format=json', 'start', 'c1'],
  ['--root', '/run/containerd/runc/k8s.io', '--log', '/b/log.json', '--log-format', 'json', 'delete', 'abc'],
  ['delete', '--force', 'abc'],
  ['delete', '-f', 'abc'],
  ['kill', 'c1'],
  ['kill', 'c1', '9'],
  ['kill', '--all', 'c1', 'SIGKILL'],
  ['kill', '-a', 'c1', '15'],
  ['--debug', '--systemd-cgroup', 'state', 'c1'],
  ['--rootless', 'true', 'kill', 'c1', 'KILL'],
  ['--root', '/run/containerd/runc/default', '--log', '/b/log.json', '--log-format', 'json', 'create', '--bundle', '/b', '--pid-file', '/b/init.pid', 'c1'],
  ['--log-format=json', '--log', '/ud/oci-log', 'create', '--bundle', '/ud', '--pid-file', '/rd/pidfile', '--console-socket', '/tmp/conmon-term.X', '--preserve-fds', '1', 'c1'],
  ['create', '-b', 'bundle', 'c1'],
  ['create', '--pidfd-socket', '/run/p.sock', '--bundle', '/b', 'c1'],
  ['create', 'c1', '--bundle=/x', '--no-pivot', '--no-new-keyring'],
  ['run', 'c1'],
  ['run', '-d', '--pid-file', 'p', '-b', '/x', 'c1'],
  ['run', '--detach', '--keep', '--no-subreaper', 'c1'],
  ['list'],
  ['--root', '/run/x', 'list', '--format', 'json'],
  ['list', '-f', 'table', '-q'],
  ['list', '--quiet', '--format=json'],
  // containerd's runc shim (go-runc), and conmon
  ['--root', '/run/containerd/runc/k8s.io', '--log', '/b/log.json', '--log-format', 'json', 'exec', '--process', '/tmp/runc-process1', '--detach', '--pid-file', '/b/e.pid', 'c1'],
  ['--root', '/run/r', 'exec', '--process', '/tmp/p.json', '--detach', '--pid-file', '/b/e.pid', '--console-socket', '/tmp/pty.sock', 'c1'],
  ['exec', '--pid-file', '/ud/exec_pid', '--process', '/ud/exec-process-X', '--detach', '--console-socket', '/tmp/conmon-term.Y', 'c1'],
  ['exec', '-p', 'p.json', 'c1'],
  ['exec', '-d', '--process=p.json', '--preserve-fds', '2', '--ignore-paused', '--pidfd-socket', '/s', 'c1'],
];
const DECLINED = [
  ['state'],
  ['state', 'a', 'b'],
  ['--help'],
  ['state', '--help'],
  ['--log-format', 'yaml', 'state', 'c1'],
  ['--unknown', 'state', 'c1'],
  ['delete', '--force=false', 'c1'],
  ['kill', '-s', 'c1'],
  ['--root'],
  ['kill', 'c1', '-9'],
  ['create', '--preserve-fds', 'x', 'c1'],
  ['create', '--bundle'],
  ['create', 'c1', 'c2'],
  ['run', '-db', 'x', 'c1'],
  ['create', '--pid-file', '--bundle', 'c1'],
  ['exec', 'c1', 'ls'],
  ['exec', 'c1'],
  ['exec', '-p', 'p.json', 'c1', 'ls'],
  ['exec', '-p', 'p.json', 'c1', '--', 'ls'],
  ['exec', '--tty', '-p', 'p.json', 'c1'],
  ['exec', '--cwd', '/', '-p', 'p.json', 'c1'],
  ['exec', '-e', 'A=1', '-p', 'p.json', 'c1'],
  ['exec', '-dp', 'p.json', 'c1'],
  ['exec', '--process', 'p.json', '--preserve-fds', 'x', 'c1'],
  ['list', 'c1'],
  ['list', '--format', 'yaml'],
  ['list', '-f'],
  ['ls'],
];

describe('fast path for short commands', () => {
  test.each(TAKEN.map((a) => [a.join(' '), a]))('takes "%s" exactly as yargs parses it', (_name, argv) => {
    const fast = parseFast(argv);
    const slow = viaYargs(argv);
    expect(fast).toBeDefined();
    expect(slow).toBeDefined();
    expect(fast!.name).toBe(slow!.name);
    expect(pick(fast!.args)).toEqual(pick(slow!.args));
  });

  test.each(DECLINED.map((a) => [a.join(' '), a]))('declines "%s" (yargs handles it)', (_name, argv) => {
    expect(parseFast(argv)).toBeUndefined();
  });
});
