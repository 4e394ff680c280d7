/**
 * The config.json schema against the corpus in test/fixtures/configs:
 *   valid/*.json    must be accepted (schema and semantic checks),
 *   invalid/*.json  must be rejected with the message in expected-errors.json.
 * File name prefixes: v10- uses only what upstream's 1.0.2 schema knows (see
 * schema-upstream.test.ts), v11-/v12-/v13- need that spec version, tsoci- are rules where
 * tsoci is deliberately stricter than upstream's schema.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseSpec } from '../../src/spec/load';
import { validateConfig } from '../../src/spec/validate';

const REPO = path.join(__dirname, '..', '..');
const CORPUS = path.join(REPO, 'test', 'fixtures', 'configs');

// The validators are build output (required lazily by validate.ts); regenerate them so the
// test sees the current schemas.
execFileSync(process.execPath, [path.join(REPO, 'scripts', 'build-schemas.mjs')], { stdio: 'pipe' });


function corpus(kind: 'valid' | 'invalid'): [string, unknown][] {
  const dir = path.join(CORPUS, kind);
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => [f, JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'))]);
}

const expected: Record<string, string> = JSON.parse(fs.readFileSync(path.join(CORPUS, 'expected-errors.json'), 'utf8'));

describe('config.json corpus', () => {
  test('has at least 15 valid and 15 invalid configs', () => {
    expect(corpus('valid').length).toBeGreaterThanOrEqual(15);
    expect(corpus('invalid').length).toBeGreaterThanOrEqual(15);
  });

  test.each(corpus('valid'))('accepts valid/%s', (file, config) => {
    expect(validateConfig(config)).toEqual([]);
    // and the semantic checks agree: the whole load path accepts it
    expect(() => parseSpec(JSON.stringify(config), file)).not.toThrow();
  });

  test.each(corpus('invalid'))('rejects invalid/%s with the expected path and message', (file, config) => {
    const want = expected[file.replace(/\.json$/, '')];
    expect(want).toBeDefined();
    const errors = validateConfig(config);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.some((e) => e.startsWith(want))).toBe(true);
  });

  test('every expectation has its fixture', () => {
    const files = new Set(corpus('invalid').map(([f]) => f.replace(/\.json$/, '')));
    expect(Object.keys(expected).filter((name) => !files.has(name))).toEqual([]);
  });
});

describe('error messages', () => {
  test('root errors use "/" as the path', () => {
    expect(validateConfig({ root: { path: 'r' } })).toEqual(["/: must have required property 'ociVersion'"]);
    expect(validateConfig([])).toEqual(['/: must be object']);
    expect(validateConfig(null)).toEqual(['/: must be object']);
  });

  test('reports every violation, not only the first', () => {
    const errors = validateConfig({ ociVersion: '1.0.0', root: {}, process: { args: 'x', cwd: '/', user: { uid: 0, gid: 0 } } });
    expect(errors).toEqual(["/root: must have required property 'path'", '/process/args: must be array']);
  });

  test('enum errors list the allowed values', () => {
    const [error] = validateConfig({ ociVersion: '1.0.0', root: { path: 'r' }, linux: { namespaces: [{ type: 'foo' }] } });
    expect(error).toBe(
      '/linux/namespaces/0/type: must be equal to one of the allowed values: ' +
        '"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"',
    );
  });

  test('an empty annotation key is named as a property name', () => {
    expect(validateConfig({ ociVersion: '1.0.0', root: { path: 'r' }, annotations: { '': 'x' } })).toEqual([
      "/annotations: property name '' must NOT have fewer than 1 characters",
    ]);
  });

  test('the "then" of a conditional is reported once, without ajv\'s summary line', () => {
    const errors = validateConfig({ ociVersion: '1.0.0', root: { path: 'r' }, linux: { devices: [{ path: '/dev/x', type: 'c' }] } });
    expect(errors).toEqual([
      "/linux/devices/0: must have required property 'major'",
      "/linux/devices/0: must have required property 'minor'",
    ]);
  });

  test('integer ranges follow the spec types', () => {
    const cfg = (memLimit: number, uid: number) => ({
      ociVersion: '1.0.0',
      root: { path: 'r' },
      process: { cwd: '/', args: ['x'], user: { uid, gid: 0 } },
      linux: { resources: { memory: { limit: memLimit } } },
    });
    expect(validateConfig(cfg(-1, 4294967295))).toEqual([]);
    expect(validateConfig(cfg(-1, 4294967296))).toEqual(['/process/user/uid: must be <= 4294967295']);
    expect(validateConfig(cfg(1.5, 0))).toEqual(['/linux/resources/memory/limit: must be integer']);
  });

  test('unknown properties are accepted, as the spec requires', () => {
    expect(validateConfig({ ociVersion: '1.0.0', root: { path: 'r', extra: 1 }, extension: {} })).toEqual([]);
  });
});
