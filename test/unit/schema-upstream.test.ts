/**
 * Second opinion: upstream's own (draft-04, 1.0.2+) runtime-spec schemas, shipped by Debian's
 * golang-github-opencontainers-specs-dev, must agree with ours on the part of the corpus that
 * uses only 1.0.2 features (files named v10-*). Files named tsoci-* are where tsoci
 * deliberately differs: stricter where the spec's text says REQUIRED/MUST but upstream's
 * schema does not check (root and process.args on Linux, device major/minor
 * unless type p, an rdma entry needs hcaHandles or hcaObjects, ociVersion is SemVer), more
 * lenient where runc is (rootfsPropagation rslave/rshared/...). Upstream's 1.3.0 schema
 * (with its "#definitions/" refs fixed) was also checked by hand: it agrees on every
 * v11-/v12-/v13- fixture.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { validateConfig } from '../../src/spec/validate';

// overridable to point at another checkout of upstream's schema/ directory
const UPSTREAM = process.env.TSOCI_UPSTREAM_SCHEMAS ?? '/usr/share/gocode/src/github.com/opencontainers/runtime-spec/schema';
const REPO = path.join(__dirname, '..', '..');
const CORPUS = path.join(REPO, 'test', 'fixtures', 'configs');

const haveUpstream = fs.existsSync(path.join(UPSTREAM, 'config-schema.json'));
if (!haveUpstream) {
  console.log(`schema-upstream: skipped: ${UPSTREAM} is missing (apt-get install golang-github-opencontainers-specs-dev)`);
}
const describeIfUpstream = haveUpstream ? describe : describe.skip;

type Validate = ((data: unknown) => boolean) & { errors?: unknown };

/** Compile upstream's config-schema.json with every file it refers to. */
function compileUpstream(): Validate {
  // required here, not imported: only this test needs it, and only when upstream is present
  const Ajv04 = require('ajv-draft-04').default;
  const ajv = new Ajv04({ allErrors: true, strict: false });
  for (const file of fs.readdirSync(UPSTREAM).filter((f) => f.endsWith('.json'))) {
    const schema = JSON.parse(fs.readFileSync(path.join(UPSTREAM, file), 'utf8'));
    // upstream's files have no ids and refer to each other by file name
    ajv.addSchema({ ...schema, id: `file:///upstream/${file}` });
  }
  return ajv.getSchema('file:///upstream/config-schema.json');
}

function fixtures(kind: 'valid' | 'invalid', prefix: string): [string, unknown][] {
  const dir = path.join(CORPUS, kind);
  return fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.json'))
    .sort()
    .map((f) => [f, JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'))]);
}

describeIfUpstream('upstream 1.0.2 schema agrees on the 1.0-only corpus', () => {
  let upstream: Validate;

  beforeAll(() => {
    execFileSync(process.execPath, [path.join(REPO, 'scripts', 'build-schemas.mjs')], { stdio: 'pipe' });
    upstream = compileUpstream();
  });

  test('the corpus has 1.0-only fixtures of both kinds', () => {
    expect(fixtures('valid', 'v10-').length).toBeGreaterThanOrEqual(10);
    expect(fixtures('invalid', 'v10-').length).toBeGreaterThanOrEqual(15);
  });

  test.each(fixtures('valid', 'v10-'))('both accept valid/%s', (_file, config) => {
    expect({ upstream: upstream(config), errors: upstream.errors ?? null }).toEqual({ upstream: true, errors: null });
    expect(validateConfig(config)).toEqual([]);
  });

  test.each(fixtures('invalid', 'v10-'))('both reject invalid/%s', (_file, config) => {
    expect(upstream(config)).toBe(false);
    expect(validateConfig(config).length).toBeGreaterThan(0);
  });

  test.each(fixtures('valid', 'tsoci-'))('only tsoci accepts valid/%s (lenient like runc)', (_file, config) => {
    expect(upstream(config)).toBe(false);
    expect(validateConfig(config)).toEqual([]);
  });

  test.each(fixtures('invalid', 'tsoci-'))('only tsoci rejects invalid/%s (deliberately stricter)', (_file, config) => {
    expect(upstream(config)).toBe(true);
    expect(validateConfig(config).length).toBeGreaterThan(0);
  });
});
