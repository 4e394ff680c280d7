/**
 * The state, process, resources and features validators, and the properties of the
 * generated files the runtime relies on (plain CommonJS, no ajv compiler at run time).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as v from '../../src/spec/validate';

const REPO = path.join(__dirname, '..', '..');
const GENERATED = path.join(REPO, 'src', 'spec', 'generated');
execFileSync(process.execPath, [path.join(REPO, 'scripts', 'build-schemas.mjs')], { stdio: 'pipe' });


describe('generated validators', () => {
  const files = ['validate-config.js', 'validate-state.js', 'validate-process.js', 'validate-features.js', 'validate-resources.js'];

  test.each(files)('%s is CommonJS that needs only ajv/dist/runtime helpers', (file) => {
    const code = fs.readFileSync(path.join(GENERATED, file), 'utf8');
    const requires = [...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    expect(requires.filter((r) => !r.startsWith('ajv/dist/runtime/'))).toEqual([]);
    expect(code).toContain('module.exports');
  });

  test.each(files)('%s loads with a plain require() in a fresh node', (file) => {
    const script = `const f = require(${JSON.stringify(path.join(GENERATED, file))}); process.stdout.write(typeof f)`;
    expect(execFileSync(process.execPath, ['-e', script], { cwd: REPO }).toString()).toBe('function');
  });

  test('types.ts exports the stable names', () => {
    const types = fs.readFileSync(path.join(GENERATED, 'types.ts'), 'utf8');
    for (const name of ['Spec', 'Process', 'User', 'Mount', 'Root', 'Hook', 'Hooks', 'Linux', 'LinuxNamespace', 'LinuxIDMapping',
      'LinuxDevice', 'LinuxResources', 'LinuxSeccomp', 'POSIXRlimit', 'LinuxCapabilities', 'State', 'Features']) {
      expect(types).toMatch(new RegExp(`export (interface|type) ${name}\\b`));
    }
  });
});

describe('validateState', () => {
  const state = { ociVersion: '1.0.2', id: 'c1', status: 'running', pid: 42, bundle: '/b', annotations: { a: 'b' } };

  test('accepts runc-style state, with runc extras and paused', () => {
    expect(v.validateState(state)).toEqual([]);
    expect(v.validateState({ ...state, status: 'paused', rootfs: '/b/rootfs', created: '2024-01-01T00:00:00Z', owner: '' })).toEqual([]);
    expect(v.validateState({ ...state, status: 'stopped', pid: 0 })).toEqual([]);
    const { pid: _pid, ...noPid } = state;
    expect(v.validateState({ ...noPid, status: 'creating' })).toEqual([]);
  });

  test('rejects bad status, a relative bundle, and a missing pid while running', () => {
    expect(v.validateState({ ...state, status: 'sleeping' })).toEqual([
      '/status: must be equal to one of the allowed values: "creating", "created", "running", "paused", "stopped"',
    ]);
    expect(v.validateState({ ...state, bundle: 'b' })).toEqual(['/bundle: must match pattern "^/"']);
    const { pid: _pid, ...noPid } = state;
    expect(v.validateState(noPid)).toEqual(["/: must have required property 'pid'"]);
    expect(v.validateState({})).toEqual([
      "/: must have required property 'ociVersion'",
      "/: must have required property 'id'",
      "/: must have required property 'status'",
      "/: must have required property 'bundle'",
    ]);
  });
});

describe('validateProcess', () => {
  test('paths are relative to the process document', () => {
    expect(v.validateProcess({ cwd: '/', args: ['sh'], user: { uid: 0, gid: 0 } })).toEqual([]);
    expect(v.validateProcess({ cwd: '/', args: ['sh'], user: { uid: 'root', gid: 0 }, capabilities: { ambient: 'x' } })).toEqual([
      '/user/uid: must be integer',
      '/capabilities/ambient: must be array',
    ]);
  });
});

describe('validateResources (update --resources)', () => {
  test('accepts a resources document and rejects bad values', () => {
    expect(v.validateResources({ memory: { limit: 1 << 30, swap: -1 }, cpu: { quota: 50000, period: 100000, cpus: '0-1' }, pids: { limit: 100 } })).toEqual([]);
    expect(v.validateResources({ memory: { limit: '1G' }, blockIO: { weight: 70000 }, devices: [{ allow: true, type: 'x' }] })).toEqual([
      '/devices/0/type: must be equal to one of the allowed values: "a", "c", "b"',
      '/memory/limit: must be integer',
      '/blockIO/weight: must be <= 65535',
    ]);
  });
});

describe('validateFeatures', () => {
  test("accepts runc's `features` output", () => {
    const runc = JSON.parse(fs.readFileSync(path.join(REPO, 'test', 'fixtures', 'configs', 'features-runc.json'), 'utf8'));
    expect(v.validateFeatures(runc)).toEqual([]);
  });

  test('accepts every 1.3 section and rejects a missing ociVersionMax', () => {
    const features = {
      ociVersionMin: '1.0.0',
      ociVersionMax: '1.3.0',
      hooks: ['prestart'],
      mountOptions: ['ro'],
      potentiallyUnsafeConfigAnnotations: ['org.systemd.property.'],
      annotations: { 'org.opencontainers.runc.version': '1.2.0' },
      linux: {
        namespaces: ['pid', 'time'],
        capabilities: ['CAP_KILL'],
        cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: false },
        seccomp: { enabled: true, actions: ['SCMP_ACT_ALLOW'], operators: ['SCMP_CMP_EQ'], archs: ['SCMP_ARCH_X86_64'], knownFlags: [], supportedFlags: [] },
        apparmor: { enabled: false },
        selinux: { enabled: false },
        intelRdt: { enabled: false, schemata: false, monitoring: false },
        memoryPolicy: { modes: ['MPOL_BIND'], flags: ['MPOL_F_STATIC_NODES'] },
        mountExtensions: { idmap: { enabled: true } },
        netDevices: { enabled: true },
      },
    };
    expect(v.validateFeatures(features)).toEqual([]);
    const { ociVersionMax: _max, ...noMax } = features;
    expect(v.validateFeatures(noMax)).toEqual(["/: must have required property 'ociVersionMax'"]);
  });
});
