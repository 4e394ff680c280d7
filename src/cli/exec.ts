import * as fs from 'fs';
import type { CommandModule } from 'yargs';
import type { Process, Spec } from '../spec/types';
import { globalOptions, runCommand, type GlobalArgs } from './common';

interface ExecArgs extends GlobalArgs {
  id: string;
  command?: string[];
  process?: string;
  'console-socket'?: string;
  'pidfd-socket'?: string;
  'pid-file'?: string;
  detach?: boolean;
  tty?: boolean;
  cwd?: string;
  env?: string[];
  user?: string;
  'additional-gids'?: (string | number)[];
  cap?: string[];
  'no-new-privs'?: boolean;
  apparmor?: string;
  'process-label'?: string;
  'preserve-fds'?: number;
  'ignore-paused'?: boolean;
  cgroup?: string[];
}

export const execCommand: CommandModule<GlobalArgs, ExecArgs> = {
  command: 'exec <id> [command..]',
  describe: 'run a new process inside a running container',
  builder: (y) =>
    y.positional('id', { type: 'string', demandOption: true })
      .positional('command', { type: 'string', array: true })
      .option('process', { alias: 'p', type: 'string', describe: 'process.json (runtime-spec process) to run' })
      .option('console-socket', { type: 'string', describe: 'unix socket to send the pty master to' })
      .option('pidfd-socket', { type: 'string', describe: 'unix socket to send a pidfd of the process to' })
      .option('pid-file', { type: 'string', describe: 'file to write the process id to' })
      .option('detach', { alias: 'd', type: 'boolean', describe: 'return once the process runs' })
      .option('tty', { alias: 't', type: 'boolean', describe: 'allocate a pseudo-TTY' })
      .option('cwd', { type: 'string', describe: 'working directory in the container' })
      .option('env', { alias: 'e', type: 'string', array: true, nargs: 1, describe: 'KEY=value to set' })
      .option('user', { alias: 'u', type: 'string', describe: 'UID (format: <uid>[:<gid>])' })
      .option('additional-gids', { alias: 'g', type: 'array', nargs: 1 })
      .option('cap', { alias: 'c', type: 'string', array: true, nargs: 1 })
      .option('no-new-privs', { type: 'boolean' })
      .option('apparmor', { type: 'string' })
      .option('process-label', { type: 'string' })
      .option('preserve-fds', { type: 'number', default: 0 })
      .option('ignore-paused', { type: 'boolean' })
      .option('cgroup', { type: 'string', array: true, nargs: 1, describe: 'run the process in an (existing) sub-cgroup(s): [<controller>[,<controller>]:]<cgroup>' }) as never,
  // runc: "exec failed: …" and status 255 when the process could not be run
  handler: (argv) => runCommand(() => execHandler(argv).catch(async (err) => {
    const { TsociError } = await import('../util/errors');
    throw err instanceof TsociError ? new TsociError(`exec failed: ${err.message}`, err.code) : err;
  }), 255),
};

async function execHandler(argv: ExecArgs): Promise<number> {
  const { exec } = await import('../container/exec');
  const { loadProcess } = await import('../spec/load');
  const { openContainer } = await import('../state/store');
  const { TsociError } = await import('../util/errors');
  const g = globalOptions(argv);
  let proc: Process;
  if (argv.process) {
    proc = loadProcess(argv.process);
  } else {
    const args = [...(argv.command ?? []), ...((argv as unknown as { _: string[] })._ ?? []).slice(1).map(String)];
    if (args.length === 0) throw new TsociError('exec: a command (or --process) is required');
    const { cdir } = openContainer(g.root, argv.id);
    const spec = JSON.parse(fs.readFileSync(cdir.specPath, 'utf8')) as Spec;
    proc = processFromFlags(spec.process, args, argv, TsociError);
  }
  return exec({
    ...g,
    id: argv.id,
    process: proc,
    detach: argv.detach,
    pidFile: argv['pid-file'],
    consoleSocket: argv['console-socket'],
    pidfdSocket: argv['pidfd-socket'],
    preserveFds: argv['preserve-fds'],
    ignorePaused: argv['ignore-paused'],
    subCgroups: argv.cgroup?.map(String),
  });
}

/** runc's rule: start from the container's process, then apply the flags. */
function processFromFlags(base: Process | undefined, args: string[], argv: ExecArgs, Err: new (m: string) => Error): Process {
  const p: Process = JSON.parse(JSON.stringify(base ?? { cwd: '/', user: { uid: 0, gid: 0 } }));
  p.args = args;
  p.terminal = !!argv.tty;
  if (argv.cwd) p.cwd = argv.cwd;
  if (argv.env) p.env = [...(p.env ?? []), ...argv.env];
  if (argv.user) {
    // runc: "<uid>[:<gid>]", numbers (Go's Atoi: an optional "+" sign); "uid" alone keeps the process's gid
    const colon = argv.user.indexOf(':');
    const uids = colon < 0 ? argv.user : argv.user.slice(0, colon);
    const gids = colon < 0 ? undefined : argv.user.slice(colon + 1);
    const num = (v: string, what: string) => {
      if (!/^\+?\d+$/.test(v)) throw new Err(`bad ${what}: strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax`);
      return Number(v);
    };
    const user = p.user ?? { uid: 0, gid: 0 };
    const gid = gids === undefined ? user.gid : num(gids, 'gid');
    p.user = { ...user, uid: num(uids, 'uid'), gid };
  }
  if (argv['additional-gids']) {
    // runc appends to the process's additionalGids
    const gids = argv['additional-gids'].map((g) => {
      const n = Number(g);
      if (!/^\d+$/.test(String(g)) || n > 0xffffffff) throw new Err(`additional-gids must be a positive number ${g}`);
      return n;
    });
    const user = p.user ?? { uid: 0, gid: 0 };
    p.user = { ...user, additionalGids: [...(user.additionalGids ?? []), ...gids] };
  }
  if (argv.cap?.length) {
    const caps = p.capabilities ?? {};
    for (const set of ['bounding', 'effective', 'permitted'] as const) caps[set] = [...(caps[set] ?? []), ...argv.cap];
    // runc: ambient only when the process already has an inheritable set (ambient needs inheritable)
    if (caps.inheritable !== undefined) caps.ambient = [...(caps.ambient ?? []), ...argv.cap];
    p.capabilities = caps;
  }
  // runc: the flag overrides the process's value when given, in either direction
  if (argv['no-new-privs'] !== undefined) p.noNewPrivileges = argv['no-new-privs'];
  if (argv.apparmor) p.apparmorProfile = argv.apparmor;
  if (argv['process-label']) p.selinuxLabel = argv['process-label'];
  return p;
}

const GLOBAL_VALUE_FLAGS = new Set(['--root', '--log', '--log-format', '--rootless', '--criu']);
const EXEC_VALUE_FLAGS = new Set(['--process', '-p', '--console-socket', '--pidfd-socket', '--pid-file', '--cwd', '--env', '-e', '--user', '-u',
  '--additional-gids', '-g', '--cap', '-c', '--apparmor', '--process-label', '--preserve-fds', '--cgroup']);

/**
 * runc's rule for `exec [flags] <id> <command...>`: flags end at the id; everything after
 * it is the command, even words that look like tsoci flags (`exec c1 ps -e`). yargs cannot
 * express that per command (halt-at-non-option in a builder halts at the word "exec"
 * itself), so a `--` is put after the id before yargs sees the arguments.
 */
export function separateExecCommand(argv: string[]): string[] {
  let i = 0;
  for (; i < argv.length && argv[i].startsWith('-'); i++) {
    if (argv[i] === '--') return argv;
    if (GLOBAL_VALUE_FLAGS.has(argv[i])) i++;
  }
  if (argv[i] !== 'exec') return argv;
  for (i++; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return argv;
    if (!a.startsWith('-') || a === '-') break;
    if (EXEC_VALUE_FLAGS.has(a)) i++;
  }
  // argv[i] is the id; nothing after it (a --process exec), or a `--` already there, needs no separator
  if (i >= argv.length - 1 || argv[i + 1] === '--') return argv;
  return [...argv.slice(0, i + 1), '--', ...argv.slice(i + 1)];
}
