/**
 * loadSpec's error messages (temp bundles), the semantic checks a schema cannot express,
 * and loadProcess for `exec --process`.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadProcess, loadSpec, parseSpec } from '../../src/spec/load';
import { checkOciVersion, checkSpecSemantics } from '../../src/spec/semantic';
import type { Spec } from '../../src/spec/types';
import { TsociError } from '../../src/util/errors';

const REPO = path.join(__dirname, '..', '..');
execFileSync(process.execPath, [path.join(REPO, 'scripts', 'build-schemas.mjs')], { stdio: 'pipe' });


let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-schema-load-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const minimal = (): Spec => ({
  ociVersion: '1.3.0',
  root: { path: 'rootfs' },
  process: { user: { uid: 0, gid: 0 }, cwd: '/', args: ['sh'] },
});

function bundleWith(name: string, configText: string | undefined): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  if (configText !== undefined) fs.writeFileSync(path.join(dir, 'config.json'), configText);
  return dir;
}

/** the TsociError message thrown by fn */
function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TsociError);
    return (err as Error).message;
  }
  throw new Error('expected a TsociError, nothing was thrown');
}

describe('loadSpec', () => {
  test('returns the spec of a valid bundle', () => {
    const dir = bundleWith('ok', JSON.stringify(minimal()));
    expect(loadSpec(dir)).toEqual(minimal());
  });

  test('missing bundle directory', () => {
    const dir = path.join(tmp, 'nope');
    expect(messageOf(() => loadSpec(dir))).toBe(`bundle ${dir}: no such file or directory (ENOENT)`);
  });

  test('bundle that is a file', () => {
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, '');
    expect(messageOf(() => loadSpec(file))).toBe(`bundle ${file}: not a directory`);
  });

  test('missing config.json', () => {
    const dir = bundleWith('noconfig', undefined);
    expect(messageOf(() => loadSpec(dir))).toBe(`open ${dir}/config.json: no such file or directory (ENOENT)`);
  });

  test('invalid JSON names the problem and keeps the parser message', () => {
    const dir = bundleWith('badjson', '{"ociVersion": "1.0.0",');
    expect(messageOf(() => loadSpec(dir))).toMatch(/^invalid config\.json: not valid JSON: .+/);
  });

  test('schema violations are listed together', () => {
    const dir = bundleWith('violations', JSON.stringify({ ociVersion: '1.0.0', root: {}, process: { cwd: '/', args: 'sh' } }));
    expect(messageOf(() => loadSpec(dir))).toBe(
      "invalid config.json: /root: must have required property 'path'; /process/args: must be array",
    );
  });

  test('an unsupported major version is reported before schema errors', () => {
    const dir = bundleWith('v2', JSON.stringify({ ociVersion: '2.0.0', root: 5 }));
    expect(messageOf(() => loadSpec(dir))).toBe('unsupported ociVersion "2.0.0": tsoci supports 1.x');
  });

  test('semantic problems are listed together', () => {
    const spec = minimal();
    spec.linux = { namespaces: [{ type: 'pid' }, { type: 'pid' }, { type: 'user' }] };
    const dir = bundleWith('semantic', JSON.stringify(spec));
    expect(messageOf(() => loadSpec(dir))).toBe(
      'invalid config.json: linux.namespaces: duplicate namespace type "pid"; ' +
        'user namespaces enabled, but no uid mappings found; user namespaces enabled, but no gid mappings found',
    );
  });
});

describe('checkOciVersion', () => {
  test.each(['1.0.0', '1.0.2-dev', '1.3.0', '1.9.99+build'])('accepts %s', (v) => expect(checkOciVersion(v)).toBeUndefined());
  test.each(['0.6.0', '2.0.0', '10.0.0'])('rejects %s', (v) =>
    expect(checkOciVersion(v)).toBe(`unsupported ociVersion "${v}": tsoci supports 1.x`),
  );
});

describe('semantic checks', () => {
  const check = (edit: (s: Spec) => void): string[] => {
    const spec = minimal();
    edit(spec);
    return checkSpecSemantics(spec);
  };
  const withNs = (...types: string[]) => (s: Spec) => {
    s.linux = { ...s.linux, namespaces: types.map((type) => ({ type }) as never) };
  };

  test('a minimal spec has no problems', () => expect(check(() => {})).toEqual([]));

  test('duplicate namespace types', () => {
    expect(check(withNs('network', 'mount', 'network'))).toEqual(['linux.namespaces: duplicate namespace type "network"']);
  });

  test('namespace paths must be absolute', () => {
    expect(check((s) => (s.linux = { namespaces: [{ type: 'network', path: 'netns/x' }] }))).toEqual([
      'linux.namespaces: path "netns/x" of the network namespace must be an absolute path',
    ]);
  });

  test('an empty namespace path means "create" (runc\'s tests join all but the mount namespace with path "")', () => {
    expect(check((s) => (s.linux = { namespaces: [{ type: 'mount', path: '' }, { type: 'pid', path: '/proc/1/ns/pid' }] }))).toEqual([]);
    // an empty user namespace path is a new one: it needs mappings
    expect(check((s) => (s.linux = { namespaces: [{ type: 'user', path: '' }] }))).toEqual([
      'user namespaces enabled, but no uid mappings found',
      'user namespaces enabled, but no gid mappings found',
    ]);
  });

  test('a new user namespace needs uid and gid mappings', () => {
    expect(check(withNs('user'))).toEqual([
      'user namespaces enabled, but no uid mappings found',
      'user namespaces enabled, but no gid mappings found',
    ]);
    const map = [{ containerID: 0, hostID: 1000, size: 1 }];
    expect(check((s) => (s.linux = { namespaces: [{ type: 'user' }], uidMappings: map }))).toEqual([
      'user namespaces enabled, but no gid mappings found',
    ]);
    expect(check((s) => (s.linux = { namespaces: [{ type: 'user' }], uidMappings: map, gidMappings: map }))).toEqual([]);
  });

  test('a joined user namespace needs no mappings', () => {
    expect(check((s) => (s.linux = { namespaces: [{ type: 'user', path: '/proc/1/ns/user' }] }))).toEqual([]);
  });

  test('mappings without a user namespace', () => {
    const map = [{ containerID: 0, hostID: 1000, size: 1 }];
    expect(check((s) => (s.linux = { namespaces: [{ type: 'mount' }], uidMappings: map }))).toEqual([
      "user namespace mappings specified, but user namespace isn't enabled",
    ]);
  });

  test('relative mount destinations are allowed, empty ones are not', () => {
    expect(check((s) => (s.mounts = [{ destination: 'data', source: 'd', options: ['bind'] }]))).toEqual([]);
    expect(check((s) => (s.mounts = [{ destination: '' }]))).toEqual(['mounts[0].destination must not be empty']);
  });

  test('idmapped mounts need both uid and gid mappings', () => {
    const map = [{ containerID: 0, hostID: 1000, size: 1 }];
    expect(check((s) => (s.mounts = [{ destination: '/m', source: '/s', options: ['bind'], uidMappings: map }]))).toEqual([
      'mounts[0] (/m): uidMappings and gidMappings must be specified together',
    ]);
  });

  test('hook paths must be absolute', () => {
    expect(check((s) => (s.hooks = { createRuntime: [{ path: '/ok' }, { path: 'bin/hook' }] }))).toEqual([
      'hooks.createRuntime[1].path "bin/hook" must be an absolute path',
    ]);
  });

  test('process cwd must be absolute; rlimits known, unique, soft <= hard', () => {
    expect(
      check((s) => {
        s.process!.cwd = 'home';
        s.process!.rlimits = [
          { type: 'RLIMIT_NOFILE', soft: 10, hard: 5 },
          { type: 'RLIMIT_NOFILE', soft: 1, hard: 1 },
          { type: 'RLIMIT_FOO', soft: 1, hard: 1 },
        ];
      }),
    ).toEqual([
      'process.cwd "home" must be an absolute path',
      'process.rlimits: RLIMIT_NOFILE soft limit 10 exceeds hard limit 5',
      'process.rlimits: duplicate rlimit type "RLIMIT_NOFILE"',
      'process.rlimits: unknown rlimit type "RLIMIT_FOO"',
    ]);
  });

  test('hostname needs a UTS namespace', () => {
    expect(check((s) => (s.hostname = 'h'))).toEqual(['unable to set hostname or domainname without a private UTS namespace']);
    expect(check((s) => ((s.hostname = 'h'), withNs('uts')(s)))).toEqual([]);
  });

  test('time offsets need a time namespace and a known clock', () => {
    expect(check((s) => (s.linux = { timeOffsets: { monotonic: { secs: 1 } } }))).toEqual([
      'timeOffsets specified, but time namespace is not enabled',
    ]);
    expect(check((s) => (s.linux = { namespaces: [{ type: 'time' }], timeOffsets: { realtime: { secs: 1 } } }))).toEqual([
      'linux.timeOffsets: unknown clock "realtime" (monotonic or boottime)',
    ]);
  });

  test('sysctls must be in a namespace of the container', () => {
    const sysctl = (names: string[], ...ns: string[]) =>
      check((s) => {
        withNs(...ns)(s);
        s.linux!.sysctl = Object.fromEntries(names.map((n) => [n, '1']));
      });
    expect(sysctl(['net.ipv4.ip_forward', 'kernel.shmmax', 'fs.mqueue.msg_max', 'kernel.domainname'], 'network', 'ipc', 'uts')).toEqual([]);
    expect(sysctl(['net.ipv4.ip_forward'], 'mount')).toEqual([`sysctl "net.ipv4.ip_forward" is not allowed in the host's network namespace`]);
    expect(sysctl(['kernel.msgmax'], 'mount')).toEqual([`sysctl "kernel.msgmax" is not allowed in the host's ipc namespace`]);
    expect(sysctl(['vm.swappiness'], 'uts')).toEqual(['sysctl "vm.swappiness" is not in a separate kernel namespace']);
    expect(sysctl(['kernel.hostname'], 'uts')).toEqual(['sysctl "kernel.hostname" is not allowed; use the hostname field instead']);
  });

  test('masked, readonly and device paths must be absolute', () => {
    expect(
      check((s) => (s.linux = { maskedPaths: ['proc/kcore'], readonlyPaths: ['/proc/sys'], devices: [{ path: 'dev/x', type: 'p' }] })),
    ).toEqual(['linux.maskedPaths: "proc/kcore" must be an absolute path', 'linux.devices: "dev/x" must be an absolute path']);
  });

  test('weightDevice entries need a weight', () => {
    expect(check((s) => (s.linux = { resources: { blockIO: { weightDevice: [{ major: 8, minor: 0 }] } } }))).toEqual([
      'linux.resources.blockIO.weightDevice[0]: needs weight or leafWeight',
    ]);
  });

  test('seccomp: errno only with ERRNO/TRACE, notify needs a listener, metadata needs a path', () => {
    expect(
      check(
        (s) =>
          (s.linux = {
            seccomp: {
              defaultAction: 'SCMP_ACT_KILL',
              defaultErrnoRet: 1,
              listenerMetadata: 'x',
              syscalls: [
                { names: ['read'], action: 'SCMP_ACT_ALLOW', errnoRet: 1 },
                { names: ['mount'], action: 'SCMP_ACT_NOTIFY' },
                { names: ['ptrace'], action: 'SCMP_ACT_TRACE', errnoRet: 1 },
              ],
            },
          }),
      ),
    ).toEqual([
      'linux.seccomp: listenerMetadata is set without listenerPath',
      'linux.seccomp: defaultErrnoRet is set but defaultAction SCMP_ACT_KILL does not return an errno',
      'linux.seccomp.syscalls[0]: errnoRet is set but action SCMP_ACT_ALLOW does not return an errno',
      'linux.seccomp.syscalls[1]: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath',
    ]);
    expect(check((s) => (s.linux = { seccomp: { defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/s' } }))).toEqual([
      'linux.seccomp: SCMP_ACT_NOTIFY cannot be the defaultAction',
    ]);
  });
});

describe('parseSpec', () => {
  test('names the document in its messages', () => {
    expect(messageOf(() => parseSpec('[]', 'spec.json'))).toBe('invalid spec.json: /: must be object');
  });
});

describe('loadProcess (exec --process)', () => {
  const write = (name: string, obj: unknown): string => {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, typeof obj === 'string' ? obj : JSON.stringify(obj));
    return file;
  };

  test('accepts a process.json', () => {
    const proc = { user: { uid: 1, gid: 1 }, cwd: '/tmp', args: ['ls', '-l'], env: ['A=b'], terminal: false };
    expect(loadProcess(write('p-ok.json', proc))).toEqual(proc);
  });

  test('rejects schema violations and a relative cwd', () => {
    const bad = write('p-bad.json', { cwd: '/', args: [] });
    expect(messageOf(() => loadProcess(bad))).toBe(`invalid process ${bad}: /args: must NOT have fewer than 1 items`);
    const rel = write('p-rel.json', { cwd: 'tmp', args: ['ls'] });
    expect(messageOf(() => loadProcess(rel))).toBe(`invalid process ${rel}: cwd "tmp" must be an absolute path`);
  });

  test('missing file and bad JSON', () => {
    const missing = path.join(tmp, 'p-missing.json');
    expect(messageOf(() => loadProcess(missing))).toBe(`open ${missing}: no such file or directory (ENOENT)`);
    const bad = write('p-json.json', '{');
    expect(messageOf(() => loadProcess(bad))).toMatch(new RegExp(`^invalid process ${bad}: not valid JSON: `));
  });
});

// runc (Go) reads a null member as absent: runc's timens.bats sets "timeOffsets": null
describe('null members are absent', () => {
  test('a null optional member is accepted and dropped, at any depth; array elements are kept', () => {
    const config = { ...minimal(), hostname: null, linux: { timeOffsets: null, namespaces: [{ type: 'time', path: null }] } };
    const spec = parseSpec(JSON.stringify(config));
    expect(spec.hostname).toBeUndefined();
    expect('timeOffsets' in spec.linux!).toBe(false);
    expect(spec.linux!.namespaces).toEqual([{ type: 'time' }]);
    expect(messageOf(() => parseSpec(JSON.stringify({ ...minimal(), mounts: [null] })))).toMatch(/mounts\/0: must be object/);
  });

  test('a null required member is still missing', () => {
    expect(messageOf(() => parseSpec(JSON.stringify({ ...minimal(), root: null })))).toMatch(/must have required property 'root'/);
  });
});
