#!/usr/bin/env node
// Runs opencontainers/runc's own integration suite (tests/integration/*.bats, built
// elsewhere: README.md "runc's integration suite") against one runtime, one file at a time,
// and prints a per-file table. Builds nothing.
//
//   node conformance/runc-bats.mjs --suite DIR --runtime PATH [--only a,b] [--timeout S]
//                                  [--json OUT] [--expect-pass REF.json] [--expected FILE]
//   node conformance/runc-bats.mjs --compare A.json B.json
//
// DIR is runc's tests/integration (helpers in ../cmd/_bin, images in testdata/). Each file
// runs as `bats --tap FILE` on a pty of its own (`script`), with RUNC=the runtime and TMPDIR=a
// private directory, under a timeout that kills all it started; afterwards containers
// left under the suite's state roots are deleted, mounts under the directory unmounted
// and the suite's cgroups removed. Exit status: 1 when a test that passes in REF.json
// (--expect-pass) does not pass here and is not named in the expectations file, else 0;
// 2 on a usage error.
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fileURLToPath } from 'url';
import { forceDelete, forEachOption, resolveRuntime, unmountUnder } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

function usage(msg) {
  if (msg) process.stderr.write(`runc-bats.mjs: ${msg}\n`);
  process.stderr.write('usage: node conformance/runc-bats.mjs --suite DIR --runtime PATH [--only a,b] [--timeout SECONDS]\n' +
    '                              [--json OUT] [--expect-pass REF.json] [--expected FILE]\n' +
    '       node conformance/runc-bats.mjs --compare A.json B.json\n');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { timeout: 300, only: null, expected: path.join(here, 'runc-bats-expected.json') };
  forEachOption(argv, usage, (a, val, next) => {
    switch (a) {
      case '--suite': o.suite = path.resolve(val()); break;
      case '--runtime': o.runtime = val(); break;
      case '--only': o.only = val().split(',').map((s) => s.trim().replace(/\.bats$/, '')).filter(Boolean); break;
      case '--timeout': o.timeout = Number(val()); break;
      case '--json': o.json = path.resolve(val()); break;
      case '--expect-pass': o.expectPass = path.resolve(val()); break;
      case '--expected': o.expected = path.resolve(val()); break;
      case '--compare': o.compare = [val(), next() ?? usage('--compare needs two files')]; break;
      case '-h': case '--help': usage();
      default: usage(`unknown argument ${a}`);
    }
  });
  if (o.compare) return o;
  if (!o.suite) usage('--suite is required');
  if (!o.runtime) usage('--runtime is required');
  if (!(o.timeout > 0)) usage('--timeout must be a positive number of seconds');
  o.runtime = resolveRuntime(o.runtime, usage);
  return o;
}

/** The `@test "name" {` titles of a .bats file, in order (what bats prints in its TAP lines). */
export function testNames(source) {
  const names = [];
  for (const line of source.split('\n')) {
    const m = /^\s*@test\s+(?:"((?:[^"\\]|\\.)*)"|'([^']*)')\s*\{/.exec(line);
    if (m) names.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]);
  }
  return names;
}

/**
 * bats' TAP: `1..N`, then per test `ok N name`, `ok N name # skip (why)` or `not ok N name`
 * followed by `# `-prefixed lines (where it failed, the commands' output).
 */
export function parseBatsTap(text) {
  const r = { planned: null, tests: [] };
  let last = null;
  for (const line of text.split('\n')) {
    let m;
    if ((m = /^1\.\.(\d+)\s*$/.exec(line))) { r.planned = Number(m[1]); last = null; continue; }
    if ((m = /^(not ok|ok) (\d+) (.*)$/.exec(line))) {
      let name = m[3];
      let verdict = m[1] === 'ok' ? 'pass' : 'fail';
      let reason;
      const skip = /^(.*?) # skip\b ?(.*)$/i.exec(name);
      if (skip) { name = skip[1]; verdict = 'skip'; reason = skip[2].replace(/^\((.*)\)$/, '$1'); }
      last = { n: Number(m[2]), name, verdict };
      if (reason) last.reason = reason;
      r.tests.push(last);
      continue;
    }
    if (last && last.verdict === 'fail' && line.startsWith('#')) {
      last.output = (last.output ? last.output + '\n' : '') + line.replace(/^# ?/, '');
    }
  }
  return r;
}

/**
 * One file's tests with verdicts: the TAP's, then for a run cut short (timeout, crash) the
 * test that was running is `timeout` and the rest `notrun` (both count as failures).
 */
export function fileVerdicts(tap, names, timedOut) {
  const tests = tap.tests.map((t) => ({ ...t, output: t.output ? excerpt(t.output) : undefined }));
  const seen = new Set(tests.map((t) => t.name));
  let first = true;
  for (const name of names) {
    if (seen.has(name)) continue;
    tests.push({ name, verdict: timedOut && first ? 'timeout' : 'notrun' });
    first = false;
  }
  return tests;
}

/** The end of a failing test's output (where bats reports the failing command, and the teardown). */
const excerpt = (text, max = 2000) => (text.length <= max ? text : '…' + text.slice(-max));

export function counts(tests) {
  const c = { pass: 0, fail: 0, skip: 0 };
  for (const t of tests) c[t.verdict === 'pass' ? 'pass' : t.verdict === 'skip' ? 'skip' : 'fail']++;
  return c;
}

const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);

/** The table: one row per file (pass, fail, skip, and a note for a timeout or a crash), then the total. */
export function formatTable(results) {
  const w = Math.max(28, ...results.map((r) => r.file.length));
  const head = `${pad('file', w)} ${lpad('pass', 5)} ${lpad('fail', 5)} ${lpad('skip', 5)}  note`;
  const rule = '-'.repeat(head.length + 10);
  const lines = [head, rule];
  const total = { pass: 0, fail: 0, skip: 0 };
  for (const r of results) {
    const c = counts(r.tests);
    for (const k of Object.keys(total)) total[k] += c[k];
    const note = r.timedOut ? `timeout after ${r.seconds.toFixed(0)} s` : r.crashed ? `bats exited ${r.exit} before the end` : '';
    lines.push(`${pad(r.file, w)} ${lpad(c.pass, 5)} ${lpad(c.fail, 5)} ${lpad(c.skip, 5)}  ${note}`.trimEnd());
  }
  lines.push(rule, `${pad(`total (${results.length} files)`, w)} ${lpad(total.pass, 5)} ${lpad(total.fail, 5)} ${lpad(total.skip, 5)}`);
  return lines.join('\n') + '\n';
}

/** `file: test name` → verdict, for every test in a --json result. */
export function verdictMap(json) {
  const m = new Map();
  for (const r of json.results) for (const t of r.tests) m.set(`${r.file}: ${t.name}`, t.verdict);
  return m;
}

/** Tests passing in a and not in b (with b's verdict), and the reverse; tests missing from one side are left out. */
export function compare(a, b) {
  const va = verdictMap(a);
  const vb = verdictMap(b);
  const onlyA = [];
  const onlyB = [];
  for (const [k, v] of va) {
    if (!vb.has(k)) continue;
    const w = vb.get(k);
    if (v === 'pass' && w !== 'pass') onlyA.push({ test: k, other: w });
    if (w === 'pass' && v !== 'pass') onlyB.push({ test: k, other: v });
  }
  return { onlyA, onlyB };
}

/** Tests passing in the reference that do not pass here and are not expected to fail. */
export function regressions(ref, results, expected) {
  const vref = verdictMap(ref);
  const out = [];
  for (const r of results) {
    for (const t of r.tests) {
      const k = `${r.file}: ${t.name}`;
      if (vref.get(k) === 'pass' && t.verdict !== 'pass' && !(k in expected)) out.push({ test: k, verdict: t.verdict });
    }
  }
  return out;
}

/** Directories (depth ≤ 4 under dir) that hold a `<id>/state.json`: the suite's --root dirs. */
function stateRoots(dir, depth = 0, out = []) {
  let entries;
  try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return out; }
  if (entries.some((e) => e.isDirectory() && fs.existsSync(path.join(dir, e.name, 'state.json')))) out.push(dir);
  if (depth < 4) {
    for (const e of entries) {
      if (e.isDirectory() && !e.isSymbolicLink() && e.name !== 'rootfs') stateRoots(path.join(dir, e.name), depth + 1, out);
    }
  }
  return out;
}

/** The suite's own cgroups (set_cgroups_path: /runc-cgroups-integration-test*), deepest first. */
function suiteCgroups() {
  const found = [];
  const walk = (d) => {
    let entries;
    try { entries = fs.readdirSync(d, { withFileTypes: true }); } catch { return; }
    for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name));
    found.push(d);
  };
  const tops = [];
  for (const h of fs.existsSync('/sys/fs/cgroup') ? ['', ...fs.readdirSync('/sys/fs/cgroup')] : []) {
    const base = path.join('/sys/fs/cgroup', h);
    try { for (const n of fs.readdirSync(base)) if (n.startsWith('runc-cgroups-integration-test')) tops.push(path.join(base, n)); } catch { /* a file */ }
  }
  for (const t of tops) walk(t);
  return found;
}

/** What a file left behind: containers under its state roots, mounts under its dir, the suite's cgroups, then the dir. */
function cleanUp(work, runtime) {
  const notes = [];
  for (const root of stateRoots(work)) {
    for (const id of fs.readdirSync(root)) {
      if (!fs.existsSync(path.join(root, id, 'state.json'))) continue;
      notes.push(forceDelete(runtime, root, id));
    }
  }
  const left = unmountUnder(work, notes);
  for (const cg of suiteCgroups()) {
    try { fs.rmdirSync(cg); notes.push(`cgroup ${cg} removed`); } catch (e) { notes.push(`cgroup ${cg}: ${e.code}`); }
  }
  if (left.length === 0) {
    try { fs.rmSync(work, { recursive: true, force: true }); } catch (e) { notes.push(`rm ${work}: ${e.code}`); }
  }
  return notes;
}

/** pgid and session of every process (from /proc/PID/stat, after the comm field). */
function processes() {
  const out = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const st = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: Number(p), ppid: Number(f[1]), pgid: Number(f[2]), sid: Number(f[3]) });
    } catch { /* gone */ }
  }
  return out;
}

/** SIGKILL everything `script` (pid) started: its process group, and the session it made for bats on the pty. */
function killAll(pid) {
  const ps = processes();
  const sids = new Set(ps.filter((p) => p.ppid === pid).map((p) => p.pid));
  for (const p of ps) {
    if (p.pid === process.pid) continue;
    if (p.pgid === pid || sids.has(p.sid)) try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
  }
}

const shq = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

function runFile(file, o) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `runc-bats-${file}-`));
  // searchable: containers with a user namespace reach their bundle under it
  fs.chmodSync(work, 0o755);
  const tmp = path.join(work, 'tmp');
  fs.mkdirSync(tmp, { mode: 0o755 });
  const tapFile = path.join(work, 'tap');
  const src = path.join(o.suite, `${file}.bats`);
  const names = testNames(fs.readFileSync(src, 'utf8'));
  const started = Date.now();
  return new Promise((resolve) => {
    // under `script`: a pty as the controlling terminal (runc's CI does the same), since
    // `runc run` of a config with terminal: true and no --console-socket opens /dev/tty
    const child = spawn('script', ['-q', '-e', '-c', `exec bats --tap ${shq(src)} >${shq(tapFile)}`, '/dev/null'], {
      cwd: o.suite,
      detached: true, // its own process group: the timeout kills all it started
      // stdin a pipe left open: at EOF on its stdin, script types a NUL into the pty, which
      // the next foreground `runc run` reads (and its output starts with an echoed ^@)
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        ...process.env,
        RUNC: o.runtime,
        TMPDIR: tmp,
        // helpers (recvtty, seccompagent, …) and the `go` that get-images.sh asks for GOARCH
        PATH: `${path.resolve(o.suite, '..', 'cmd', '_bin')}:${process.env.PATH}`,
      },
    });
    let console = '';
    child.stdout.on('data', (d) => (console += d));
    child.stderr.on('data', (d) => (console += d));
    const interrupted = (sig) => {
      killAll(child.pid);
      cleanUp(work, o.runtime);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    };
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killAll(child.pid);
    }, o.timeout * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      process.off('SIGINT', interrupted);
      process.off('SIGTERM', interrupted);
      killAll(child.pid);
      child.stdin.destroy();
      let text = '';
      try { text = fs.readFileSync(tapFile, 'utf8'); } catch { /* bats never started */ }
      const tap = parseBatsTap(text);
      const tests = fileVerdicts(tap, names, timedOut);
      const crashed = !timedOut && tap.tests.length < (tap.planned ?? names.length);
      resolve({ file, seconds: (Date.now() - started) / 1000, exit: code ?? `signal ${signal}`, timedOut, crashed, tests,
        console: crashed || timedOut ? excerpt(console) : undefined, cleanup: cleanUp(work, o.runtime) });
    });
  });
}

const readJson = (f) => { try { return JSON.parse(fs.readFileSync(f, 'utf8')); } catch (e) { usage(`cannot read ${f}: ${e.message}`); } };

function printCompare(o) {
  const [fa, fb] = o.compare;
  const a = readJson(fa);
  const b = readJson(fb);
  const { onlyA, onlyB } = compare(a, b);
  const show = (list, x, y) => {
    process.stdout.write(`\n${list.length} tests pass with ${x} and not with ${y}:\n`);
    for (const t of list) process.stdout.write(`  ${t.test}  [${t.other}]\n`);
  };
  process.stdout.write(`A: ${fa} (${a.runtime})\nB: ${fb} (${b.runtime})\n`);
  show(onlyA, 'A', 'B');
  show(onlyB, 'B', 'A');
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.compare) return printCompare(o);
  if (process.getuid && process.getuid() !== 0) process.stderr.write('warning: runc\'s suite expects to run as root here\n');
  if (spawnSync('bats', ['--version']).status !== 0) usage('bats is not installed (apt-get install bats)');
  if (spawnSync('script', ['--version']).status !== 0) usage('script is not installed (apt-get install bsdutils)');
  const all = fs.readdirSync(o.suite).filter((f) => f.endsWith('.bats')).map((f) => f.slice(0, -5)).sort();
  if (all.length === 0) usage(`no *.bats files in ${o.suite}`);
  const files = o.only ?? all;
  for (const f of files) if (!all.includes(f)) usage(`no ${f}.bats in the suite`);
  const expected = fs.existsSync(o.expected) ? readJson(o.expected).tests ?? {} : {};
  const ref = o.expectPass ? readJson(o.expectPass) : null;

  process.stdout.write(`runtime: ${o.runtime}\nsuite:   ${o.suite} (${files.length} files)\n\n`);
  const results = [];
  for (const file of files) {
    const r = await runFile(file, o);
    const c = counts(r.tests);
    process.stdout.write(`${pad(file, 28)} ${lpad(c.pass, 5)} ${lpad(c.fail, 5)} ${lpad(c.skip, 5)}  ${r.seconds.toFixed(0)} s${r.timedOut ? ' TIMEOUT' : ''}\n`);
    results.push(r);
  }
  process.stdout.write(`\n${formatTable(results)}`);
  for (const r of results.filter((x) => x.cleanup.length)) process.stdout.write(`cleanup after ${r.file}: ${r.cleanup.join('; ')}\n`);
  if (o.json) {
    fs.writeFileSync(o.json, JSON.stringify({ runtime: o.runtime, suite: o.suite, date: new Date().toISOString(), results }, null, 1));
  }
  if (ref) {
    const bad = regressions(ref, results, expected);
    if (bad.length) {
      process.stdout.write(`\n${bad.length} tests pass in ${o.expectPass} and not here (and are not in ${o.expected}):\n`);
      for (const b of bad) process.stdout.write(`  ${b.test}  [${b.verdict}]\n`);
      process.exit(1);
    }
    process.stdout.write(`\nevery test that passes in ${o.expectPass} passes here (or is expected not to)\n`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    process.stderr.write(`runc-bats.mjs: ${e.stack || e}\n`);
    process.exit(2);
  });
}
