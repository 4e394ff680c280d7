import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { tsoci, uniqueId } from '../helpers/tsoci';

// The command line as runc's users meet it (help.bats, debug.bats, urfave/cli's rules):
// unknown flags refused everywhere, help for every command, parse errors in --log.

const COMMANDS = ['create', 'delete', 'events', 'exec', 'kill', 'list', 'pause', 'ps', 'resume', 'run', 'spec', 'start', 'state', 'update', 'features'];

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-cli-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('help', () => {
  test('tsoci -h, --help, help, and no arguments: NAME: / "tsoci - Open Container Initiative runtime", every command listed', () => {
    for (const args of [['-h'], ['--help'], ['help'], []]) {
      const r = tsoci(args);
      expect({ args, status: r.status, stderr: r.stderr }).toEqual({ args, status: 0, stderr: '' });
      const lines = r.stdout.split('\n');
      expect(lines[0]).toBe('NAME:');
      expect(lines[1]).toMatch(/^ {3}tsoci - Open Container Initiative runtime$/);
      for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^ {3}${c}\\b`, 'm'));
      expect(r.stdout).toContain('GLOBAL OPTIONS:');
      expect(r.stdout).toContain('--root value');
      // runc's layout: the sections in runc's order, VERSION holding what --version prints
      const sections = lines.filter((l) => /^[A-Z ]+:$/.test(l));
      expect(sections).toEqual(['NAME:', 'USAGE:', 'VERSION:', 'COMMANDS:', 'GLOBAL OPTIONS:']);
      expect(r.stdout).toMatch(/\nVERSION:\n {3}\d+\.\d+\.\d+\S*\ncommit: .*\nspec: 1\.3\.0\n/);
      expect(r.stdout).toMatch(/^ {3}--log-format value {2}set the log format \('text' \(default\), or 'json'\)$/m);
    }
  });

  test.each(COMMANDS)('tsoci %s -h / --help / help <cmd>: NAME: and "tsoci <cmd> - …", its flags', (cmd) => {
    for (const args of [[cmd, '-h'], [cmd, '--help'], ['help', cmd], ['--root', '/x', cmd, '--help']]) {
      const r = tsoci(args);
      expect({ args, status: r.status, stderr: r.stderr }).toEqual({ args, status: 0, stderr: '' });
      const lines = r.stdout.split('\n');
      expect(lines[0]).toBe('NAME:');
      expect(lines[1]).toMatch(new RegExp(`^ {3}tsoci ${cmd} - \\S`));
      expect(r.stdout).toContain('OPTIONS:');
      expect(r.stdout).toContain('--help, -h');
    }
  });

  test('a command-specific flag is listed with its alias and value', () => {
    expect(tsoci(['run', '--help']).stdout).toMatch(/--bundle, -b value +path to the bundle directory/);
    expect(tsoci(['exec', '--help']).stdout).toMatch(/--cgroup value/);
  });

  test("unknown command or help topic: \"No help topic for 'foo'\", status 1", () => {
    for (const args of [['foo', '-h'], ['help', 'foo'], ['foo']]) {
      const r = tsoci(args);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe("No help topic for 'foo'\n");
    }
  });

  test('after the id, -h is the exec\'d command\'s (not a help request)', () => {
    const r = tsoci(['exec', 'no-such-ct', 'ls', '-h']);
    expect(r.status).toBe(255);
    expect(r.stderr).toContain('no-such-ct');
  });
});

describe('unknown flags are refused everywhere (runc: "flag provided but not defined")', () => {
  test.each([
    [['--no-such-flag', '--version'], '-no-such-flag'],
    [['--version', '--no-such-flag'], '-no-such-flag'],
    [['--bogus', 'state', 'x'], '-bogus'],
    [['state', '--no-such', 'x'], '-no-such'],
    [['state', 'x', '--no-such'], '-no-such'],
    [['list', '--no-such'], '-no-such'],
    [['kill', 'x', 'KILL', '--bogus'], '-bogus'],
    [['exec', '--no-such', 'x', 'true'], '-no-such'],
    [['run', '-db', 'x'], '-db'],
    [['spec', '--no-such'], '-no-such'],
    [['features', '--x'], '-x'],
    [['update', '--bogus', 'x'], '-bogus'],
    [['ps', '--bogus', 'x'], '-bogus'],
    [['events', '--bogus=1', 'x'], '-bogus'],
    [['delete', '--version', 'x'], '-version'],
  ])('%j', (args, flag) => {
    const r = tsoci(args as string[]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`flag provided but not defined: ${flag}\n`);
  });

  test('a flag without its value, a bad boolean value', () => {
    expect(tsoci(['state', 'x', '--root'], { root: '' }).stderr).toBe('flag needs an argument: -root\n');
    expect(tsoci(['create', '--no-pivot=maybe', 'x'])).toMatchObject({ status: 1, stderr: 'invalid boolean value "maybe" for -no-pivot\n' });
  });

  test('the argument count, as runc\'s checkArgs says it', () => {
    expect(tsoci(['state']).stderr).toBe('"state" requires exactly 1 argument(s)\n');
    expect(tsoci(['state', 'a', 'b']).stderr).toBe('"state" requires exactly 1 argument(s)\n');
    expect(tsoci(['kill']).stderr).toBe('"kill" requires a minimum of 1 argument(s)\n');
    expect(tsoci(['kill', 'a', 'b', 'c']).stderr).toBe('"kill" requires a maximum of 2 argument(s)\n');
    expect(tsoci(['list', 'x']).stderr).toBe('"list" requires exactly 0 argument(s)\n');
    expect(tsoci(['exec']).status).toBe(1);
  });

  test('what runc accepts still works: --version, -v, Go-style -flag, --flag=value, a global flag after the command', () => {
    expect(tsoci(['--version'], { root: '' }).stdout).toMatch(/^tsoci version /);
    expect(tsoci(['--debug', '--version']).stdout).toMatch(/^tsoci version /);
    expect(tsoci(['-v'], { root: '' }).stdout).toMatch(/^tsoci version /);
    expect(tsoci(['-root', work, 'list', '-q'], { root: '' })).toMatchObject({ status: 0, stdout: '', stderr: '' });
    expect(tsoci(['--root=' + work, 'list', '--format=json'], { root: '' })).toMatchObject({ status: 0, stdout: '[]\n' });
    expect(tsoci(['state', 'x', '--log-format=json'])).toMatchObject({ status: 1, stderr: 'container "x" does not exist\n' });
  });
});

describe('a parse error also goes to --log, in --log-format', () => {
  test.each(['json', 'text'])('%s', (format) => {
    const log = path.join(work, `parse-${format}.log`);
    const r = tsoci(['--log', log, '--log-format', format, '--bogus', 'state', 'x']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('flag provided but not defined: -bogus\n');
    const line = fs.readFileSync(log, 'utf8').trim();
    if (format === 'json') expect(JSON.parse(line)).toMatchObject({ level: 'error', msg: 'flag provided but not defined: -bogus' });
    else expect(line).toMatch(/^time="[^"]+" level=error msg="flag provided but not defined: -bogus"$/);
  });

  test('an error yargs finds (a bad --log-format choice) goes there too', () => {
    const log = path.join(work, 'choice.log');
    const r = tsoci(['--log', log, '--log-format', 'yaml', 'state', 'x']);
    expect(r.status).toBe(1);
    expect(fs.readFileSync(log, 'utf8')).toContain('level=error');
  });
});

describe('list and state as runc prints them', () => {
  test('a --root that does not exist is an error (the default root missing is an empty list)', () => {
    const r = tsoci(['list'], { root: path.join(work, 'no-such-root') });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`open ${path.join(work, 'no-such-root')}: no such file or directory (ENOENT)\n`);
    expect(tsoci(['list', '-q'], { root: work })).toMatchObject({ status: 0, stdout: '' });
  });

  test('JSON fields in runc\'s order: ociVersion, id, pid, status, bundle, rootfs, created, (annotations,) owner', () => {
    const bundle = makeBundle(testSpec(['true'], { annotations: { a: 'b' } }));
    const id = uniqueId('order');
    try {
      expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
      const keys = ['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'annotations', 'owner'];
      expect(Object.keys(JSON.parse(tsoci(['state', id]).stdout))).toEqual(keys);
      const listed = JSON.parse(tsoci(['list', '--format', 'json']).stdout).find((v: any) => v.id === id);
      expect(Object.keys(listed)).toEqual(keys);
    } finally {
      tsoci(['delete', '--force', id]);
      removeBundle(bundle);
    }
  });
});
