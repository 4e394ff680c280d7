import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

// conformance/runc-bats.mjs (runc's bats suite runner) is an ES module outside src/: its
// pure parts (TAP parsing, verdicts, table, compare) are exercised through a small node
// ESM script fed a recorded bats TAP sample. No root, no bats, no runtime needed.

const repo = path.resolve(__dirname, '..', '..');
const runner = path.join(repo, 'conformance', 'runc-bats.mjs');
const sample = fs.readFileSync(path.join(repo, 'test', 'fixtures', 'runc-bats-sample.tap'), 'utf8');

// the .bats source the sample came from (the fifth test was still running when it was cut)
const source = [
  '#!/usr/bin/env bats',
  'load helpers',
  '@test "runc exec" {', '\ttrue', '}',
  '@test "runc exec --user with no access to cwd" {', '\tfalse', '}',
  "  @test 'runc exec [seccomp]' {", '\tskip "test requires root"', '}',
  '@test "runc exec --preserve-fds" {', '\tskip', '}',
  '@test "runc exec \\"quoted\\" name" {', '\tsleep 1000', '}',
].join('\n');

/** Runs `body` (an async function body using the module as `m`) and returns its JSON result. */
function withRunner(body: string, input: unknown): any {
  const script = `import * as m from ${JSON.stringify(runner)};\n` +
    `const input = JSON.parse(process.argv[1]);\n` +
    `const out = await (async () => { ${body} })();\n` +
    `process.stdout.write(JSON.stringify(out));\n`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(input)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`node exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('runc-bats runner', () => {
  test('test names come from the @test lines, quotes unescaped', () => {
    expect(withRunner('return m.testNames(input.source);', { source })).toEqual([
      'runc exec',
      'runc exec --user with no access to cwd',
      'runc exec [seccomp]',
      'runc exec --preserve-fds',
      'runc exec "quoted" name',
    ]);
  });

  test('bats TAP: pass, fail with its output, skip with and without a reason', () => {
    const tap = withRunner('return m.parseBatsTap(input.sample);', { sample });
    expect(tap.planned).toBe(5);
    expect(tap.tests).toEqual([
      { n: 1, name: 'runc exec', verdict: 'pass' },
      {
        n: 2, name: 'runc exec --user with no access to cwd', verdict: 'fail',
        output: '(in test file /work/runc-bats/tests/integration/exec.bats, line 131)\n' +
          "  `[ \"$status\" -eq 0 ]' failed\ntsoci exec --user 1000 test_busybox (status=1)\n" +
          'exec: chdir /root: permission denied\n--- teardown ---',
      },
      { n: 3, name: 'runc exec [seccomp]', verdict: 'skip', reason: 'test requires root' },
      { n: 4, name: 'runc exec --preserve-fds', verdict: 'skip' },
    ]);
  });

  test('a file cut short: the running test is a timeout, later ones not run; all count as failures', () => {
    const r = withRunner(
      'const tests = m.fileVerdicts(m.parseBatsTap(input.sample), m.testNames(input.source), true);' +
      'return { tests: tests.map((t) => [t.name, t.verdict]), counts: m.counts(tests) };',
      { sample: sample + 'ok 5 runc exec "quoted" name\n', source: source + '\n@test "later" {\n}\n@test "last" {\n}\n' },
    );
    expect(r.tests.slice(4)).toEqual([['runc exec "quoted" name', 'pass'], ['later', 'timeout'], ['last', 'notrun']]);
    expect(r.counts).toEqual({ pass: 2, fail: 3, skip: 2 });
  });

  test('the table has a row per file, a note for a timeout, and the total', () => {
    const table: string = withRunner(
      'const tests = m.fileVerdicts(m.parseBatsTap(input.sample), m.testNames(input.source), true);' +
      'return m.formatTable([{ file: "exec", tests, seconds: 300.2, timedOut: true },' +
      '  { file: "version", tests: [{ name: "runc version", verdict: "pass" }], seconds: 1 }]);',
      { sample, source },
    );
    const lines = table.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^file\s+pass\s+fail\s+skip\s+note$/);
    expect(lines[2]).toMatch(/^exec\s+1\s+2\s+2\s+timeout after 300 s$/);
    expect(lines[3]).toMatch(/^version\s+1\s+0\s+0$/);
    expect(lines[5]).toMatch(/^total \(2 files\)\s+2\s+2\s+2$/);
  });

  test('compare lists the tests passing on one side only; regressions honour the expectations', () => {
    const a = { runtime: 'runc', results: [{ file: 'exec', tests: [
      { name: 'x', verdict: 'pass' }, { name: 'y', verdict: 'pass' }, { name: 'z', verdict: 'fail' }, { name: 'w', verdict: 'pass' },
    ] }] };
    const b = { runtime: 'tsoci', results: [{ file: 'exec', tests: [
      { name: 'x', verdict: 'fail' }, { name: 'y', verdict: 'pass' }, { name: 'z', verdict: 'pass' }, { name: 'w', verdict: 'timeout' },
    ] }] };
    const r = withRunner('return { c: m.compare(input.a, input.b), reg: m.regressions(input.a, input.b.results, input.expected) };',
      { a, b, expected: { 'exec: w': 'a runc-internal detail' } });
    expect(r.c.onlyA).toEqual([{ test: 'exec: x', other: 'fail' }, { test: 'exec: w', other: 'timeout' }]);
    expect(r.c.onlyB).toEqual([{ test: 'exec: z', other: 'fail' }]);
    expect(r.reg).toEqual([{ test: 'exec: x', verdict: 'fail' }]);
  });

  test('the committed expectations file names at most three tests, each with a reason', () => {
    const exp = JSON.parse(fs.readFileSync(path.join(repo, 'conformance', 'runc-bats-expected.json'), 'utf8'));
    const entries = Object.entries(exp.tests as Record<string, string>);
    expect(entries.length).toBeLessThanOrEqual(3);
    for (const [k, reason] of entries) {
      expect(k).toMatch(/^[\w-]+: .+/);
      expect(reason.length).toBeGreaterThan(10);
    }
  });
});
