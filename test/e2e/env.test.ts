import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, tsoci, uniqueId } from '../helpers/tsoci';

// The process environment as runc builds it (libcontainer/env.go prepareEnv): the last
// value of a key wins, HOME comes from the container's /etc/passwd when process.env lacks
// it or has it empty ("/" without an entry), values pass through byte for byte.

const TEMPUSER = 'tempuser:x:2000:2000:tempuser:/home/tempuser:/bin/sh\n';

afterAll(() => deleteAll());

/** `run` a container whose process is `env` (or `args`) with these env entries; returns stdout. */
function runWith(env: string[] | undefined, opts: { args?: string[]; user?: object; passwd?: string | null; fifo?: boolean } = {}): string {
  const spec = testSpec(opts.args ?? ['env']);
  if (env === undefined) delete spec.process.env;
  else spec.process.env = env;
  if (opts.user) spec.process.user = opts.user;
  const bundle = makeBundle(spec);
  const passwd = path.join(bundle, 'rootfs/etc/passwd');
  if (opts.passwd === null) fs.rmSync(passwd);
  else if (opts.passwd !== undefined) fs.appendFileSync(passwd, opts.passwd);
  if (opts.fifo) {
    fs.rmSync(passwd);
    execFileSync('mkfifo', [passwd]);
  }
  try {
    const r = tsoci(['run', '--bundle', bundle, uniqueId('env')]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return r.stdout;
  } finally {
    removeBundle(bundle);
  }
}

const lines = (s: string) => s.split('\n').filter(Boolean);
const PATH = 'PATH=/usr/bin:/bin';

describe('run: HOME and duplicate keys', () => {
  test('a non-empty HOME is used as given', () => {
    expect(lines(runWith([PATH, 'HOME=/override']))).toEqual([PATH, 'HOME=/override']);
  });

  test("an empty or absent HOME: the user's home from the container's /etc/passwd, set once", () => {
    expect(lines(runWith([PATH, 'HOME=']))).toEqual([PATH, 'HOME=/root']);
    expect(lines(runWith([PATH]))).toEqual([PATH, 'HOME=/root']);
    // the last HOME is the empty one: overridden as well
    expect(lines(runWith(['HOME=/override', PATH, 'HOME=']))).toEqual([PATH, 'HOME=/root']);
    // no process.env at all
    expect(lines(runWith(undefined))).toEqual(['HOME=/root']);
  });

  test('a user with an entry gets its home; a user without one, or no /etc/passwd, gets "/"', () => {
    expect(lines(runWith([PATH], { user: { uid: 2000, gid: 2000 }, passwd: TEMPUSER }))).toEqual([PATH, 'HOME=/home/tempuser']);
    expect(lines(runWith([PATH], { user: { uid: 1000, gid: 1000 } }))).toEqual([PATH, 'HOME=/']);
    expect(lines(runWith([PATH], { passwd: null }))).toEqual([PATH, 'HOME=/']);
    // malformed lines are skipped, the first matching one counts
    expect(lines(runWith([PATH], { user: { uid: 3000, gid: 0 }, passwd: 'junk\nx:x:abc:0::/nope:\nu3:x:3000:0::/h3:/bin/sh\nv3:x:3000:0::/h4:/bin/sh\n' })))
      .toEqual([PATH, 'HOME=/h3']);
  });

  test('a fifo at /etc/passwd is not read (no hang): HOME is "/"', () => {
    expect(lines(runWith([PATH], { fifo: true }))).toEqual([PATH, 'HOME=/']);
  });

  test('a key set twice: the last value wins, at its place, once', () => {
    expect(lines(runWith(['ONE=two', PATH, 'ONE=']))).toEqual([PATH, 'ONE=', 'HOME=/root']);
    expect(runWith(['ONE=two', 'ONE=three', PATH], { args: ['sh', '-c', 'echo "ONE=$ONE"'] })).toBe('ONE=three\n');
  });

  test('a value with a newline passes through intact', () => {
    expect(runWith(['NEW_LINE_ENV=\n', PATH])).toBe(`NEW_LINE_ENV=\n\n${PATH}\nHOME=/root\n`);
    expect(runWith(['X=a\nb=c', PATH], { args: ['sh', '-c', 'printf "%s|" "$X"'] })).toBe('a\nb=c|');
  });

  test('an entry without "=" or with an empty name is still refused', () => {
    for (const [bad, why] of [['NOEQUALS', "missing '='"], ['=x', 'name cannot be empty']]) {
      const bundle = makeBundle(testSpec(['true'], {}));
      const spec = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
      spec.process.env.push(bad);
      fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
      try {
        const r = tsoci(['run', '--bundle', bundle, uniqueId('badenv')]);
        expect(r.status).toBe(1);
        expect(r.stderr).toContain(why);
      } finally {
        removeBundle(bundle);
      }
    }
  });
});

describe('exec: HOME and duplicate keys', () => {
  let bundle: string;
  let id: string;
  beforeAll(() => {
    const spec = testSpec(['sleep', '600']);
    spec.process.env = [PATH, 'TERM=xterm', 'DUP=config'];
    bundle = makeBundle(spec);
    fs.appendFileSync(path.join(bundle, 'rootfs/etc/passwd'), TEMPUSER);
    id = uniqueId('envx');
    const r = tsoci(['run', '-d', '--bundle', bundle, id]);
    if (r.status !== 0) throw new Error(`run -d failed: ${r.stderr}`);
  });
  afterAll(() => {
    tsoci(['delete', '-f', id]);
    removeBundle(bundle);
  });

  const exec = (args: string[]) => {
    const r = tsoci(['exec', ...args]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return r.stdout;
  };

  test("--env: added to the container's env; a key given twice (or also in config.json): the last wins", () => {
    expect(lines(exec(['--env', 'X=1', '-e', 'X=2', '--env', 'DUP=exec', id, 'env']))).toEqual([PATH, 'TERM=xterm', 'X=2', 'DUP=exec', 'HOME=/root']);
    expect(exec(['-e', 'HOME=', id, 'sh', '-c', 'echo $HOME'])).toBe('/root\n');
    expect(exec(['-e', 'HOME=/given', id, 'sh', '-c', 'echo $HOME'])).toBe('/given\n');
    expect(exec(['-e', 'NL=a\nb', id, 'sh', '-c', 'printf "%s|" "$NL"'])).toBe('a\nb|');
  });

  test('--user: HOME of that user in /etc/passwd, "/" without an entry', () => {
    expect(exec(['--user', '2000', id, 'sh', '-c', 'echo $HOME'])).toBe('/home/tempuser\n');
    expect(exec(['--user', '1000:1000', id, 'sh', '-u', '-c', 'echo $HOME'])).toBe('/\n');
  });

  test("-p process.json: only its env (none of config.json's), HOME set; also with no env at all", () => {
    const withEnv = path.join(bundle, 'process-env.json');
    fs.writeFileSync(withEnv, JSON.stringify({ terminal: false, args: ['/bin/env'], cwd: '/', env: ['FOO=bar', 'FOO=baz'] }));
    expect(lines(exec(['-p', withEnv, id]))).toEqual(['FOO=baz', 'HOME=/root']);
    const noEnv = path.join(bundle, 'process-noenv.json');
    fs.writeFileSync(noEnv, JSON.stringify({ args: ['/bin/env'], cwd: '/' }));
    expect(lines(exec(['-p', noEnv, id]))).toEqual(['HOME=/root']);
  });
});
