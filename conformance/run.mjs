#!/usr/bin/env node
// Runs the opencontainers/runtime-tools validation programs (already built elsewhere)
// against one runtime, each program in its own temp working directory, and prints a
// per-program table. Builds nothing. See README.md "Conformance".
//
//   node conformance/run.mjs --suite DIR [--runtime PATH] [--only a,b] [--timeout S]
//                            [--oci-version V] [--expected FILE] [--json OUT] [--keep]
//
// DIR holds `runtimetest`, `rootfs-<arch>.tar.gz` and `validation/<name>/<name>.t`
// (a runtime-tools checkout after `make runtimetest validation-executables`), or the
// `.t` files directly. Exit status: 1 when a program that expected.json marks as
// must-pass did not pass (or on a usage error), else 0.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fileURLToPath } from 'url';
import { forceDelete, forEachOption, resolveRuntime, unmountUnder } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const GOARCH = { x64: 'amd64', arm64: 'arm64', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' }[process.arch] ?? process.arch;

function usage(msg) {
  if (msg) process.stderr.write(`run.mjs: ${msg}\n`);
  process.stderr.write('usage: node conformance/run.mjs --suite DIR [--runtime PATH] [--only a,b] [--timeout SECONDS]\n' +
    '                        [--oci-version V] [--expected FILE] [--json OUT] [--keep]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { runtime: path.resolve(here, '..', 'bin', 'tsoci'), timeout: 120, expected: path.join(here, 'expected.json'), only: null, keep: false };
  forEachOption(argv, usage, (a, val) => {
    switch (a) {
      case '--suite': o.suite = path.resolve(val()); break;
      case '--runtime': o.runtime = val(); break;
      case '--only': o.only = val().split(',').map((s) => s.trim().replace(/\.t$/, '')).filter(Boolean); break;
      case '--timeout': o.timeout = Number(val()); break;
      case '--oci-version': o.ociVersion = val(); break;
      case '--expected': o.expected = path.resolve(val()); break;
      case '--json': o.json = path.resolve(val()); break;
      case '--keep': o.keep = true; break;
      case '-h': case '--help': usage();
      default: usage(`unknown argument ${a}`);
    }
  });
  if (!o.suite) usage('--suite is required');
  if (!(o.timeout > 0)) usage('--timeout must be a positive number of seconds');
  o.runtime = resolveRuntime(o.runtime, usage);
  return o;
}

/** name → absolute path of every validation program in the suite dir. */
function findPrograms(suite) {
  const found = new Map();
  const vdir = path.join(suite, 'validation');
  if (fs.existsSync(vdir)) {
    for (const name of fs.readdirSync(vdir).sort()) {
      const t = path.join(vdir, name, `${name}.t`);
      if (fs.existsSync(t)) found.set(name, t);
    }
  }
  for (const f of fs.readdirSync(suite).sort()) {
    if (f.endsWith('.t')) found.set(f.slice(0, -2), path.join(suite, f));
  }
  return found;
}

/** A shell wrapper the programs call as RUNTIME: a private --root per program, and optionally a rewritten ociVersion. */
function writeWrapper(work, runtime, root, ociVersion) {
  const rewrite = ociVersion ? `
b=""; prev=""
case "$*" in *create*|*run*)
  for a in "$@"; do
    case "$prev" in --bundle|-b) b="$a";; esac
    case "$a" in --bundle=*) b="\${a#--bundle=}";; esac
    prev="$a"
  done
  [ -n "$b" ] || b="$PWD"
  [ -f "$b/config.json" ] && sed -i -E 's/"ociVersion"[[:space:]]*:[[:space:]]*"[^"]*"/"ociVersion":"${ociVersion}"/' "$b/config.json"
esac` : '';
  const file = path.join(work, 'runtime');
  fs.writeFileSync(file, `#!/bin/sh${rewrite}\nexec '${runtime}' --root '${root}' "$@"\n`, { mode: 0o755 });
  return file;
}

/** TAP: counts of ok / not ok / skip (a `# SKIP` directive), the plan(s), and the not-ok descriptions. */
export function parseTap(text) {
  const r = { ok: 0, notOk: 0, skip: 0, planned: null, planSkip: false, failures: [], diagnostics: [] };
  let yaml = null;
  for (const line of text.split('\n')) {
    let m;
    // YAML diagnostic blocks ("  ---" … "  ..."): the lifecycle programs (hooks, poststart, …)
    // report a failure only this way, with no test line at all
    if (yaml !== null) {
      if (/^\s+\.\.\.\s*$/.test(line)) { r.diagnostics.push(yaml.join('\n')); yaml = null; } else yaml.push(line);
      continue;
    }
    if (/^\s+---\s*$/.test(line)) { yaml = []; continue; }
    if ((m = /^1\.\.(\d+)(\s*#\s*skip\b.*)?/i.exec(line))) {
      // some programs print one TAP document per case ("TAP version 13 … 1..N" repeated): plans add up
      r.planned = (r.planned ?? 0) + Number(m[1]);
      if (m[2]) r.planSkip = true;
    } else if ((m = /^(not ok|ok)\b\s*(\d+)?\s*(?:-\s*)?(.*)$/.exec(line))) {
      const directive = /#\s*(skip|todo)\b/i.exec(m[3]);
      if (directive && directive[1].toLowerCase() === 'skip') r.skip++;
      else if (m[1] === 'ok') r.ok++;
      else { r.notOk++; r.failures.push(m[3].trim()); }
    }
  }
  return r;
}

export function verdictOf(tap, code, timedOut) {
  const seen = tap.ok + tap.notOk + tap.skip;
  if (timedOut) return 'timeout';
  if (tap.notOk > 0) return 'fail';
  // the *_fail programs: the runtime rejected the config as it must, the program exits 0 without TAP
  if (tap.planned === null && seen === 0 && code === 0) return 'pass';
  if (code !== 0 || tap.planned === null || seen !== tap.planned) return 'crash';
  if (tap.ok === 0 && (tap.skip > 0 || tap.planSkip)) return 'skip';
  // `1..0`: the lifecycle programs print no test line; a YAML diagnostic is their failure
  if (seen === 0) return tap.diagnostics.length ? 'fail' : 'pass';
  return 'pass';
}

/** What a program left behind: containers under its private root, mounts under its work dir, then the dir itself. */
function cleanUp(work, runtime, root, keep) {
  const notes = [];
  let ids = [];
  // dot-entries are the runtime's own (caches), not containers
  try { ids = fs.readdirSync(root).filter((n) => !n.startsWith('.')); } catch { /* nothing was created */ }
  for (const id of ids) notes.push(forceDelete(runtime, root, id));
  const left = unmountUnder(work, notes);
  if (!keep && left.length === 0) fs.rmSync(work, { recursive: true, force: true });
  return notes;
}

function runProgram(name, program, o) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `oci-conformance-${name}-`));
  // searchable like /tmp itself: a container whose root is mapped to another uid must reach its bundle
  fs.chmodSync(work, 0o755);
  const root = path.join(work, 'root');
  const tmp = path.join(work, 'tmp');
  fs.mkdirSync(tmp, { mode: 0o1777 });
  fs.chmodSync(tmp, 0o1777);
  fs.copyFileSync(path.join(o.suite, 'runtimetest'), path.join(work, 'runtimetest'));
  fs.chmodSync(path.join(work, 'runtimetest'), 0o755);
  const tarball = `rootfs-${GOARCH}.tar.gz`;
  fs.symlinkSync(path.join(o.suite, tarball), path.join(work, tarball));
  const wrapper = writeWrapper(work, o.runtime, root, o.ociVersion);
  const started = Date.now();
  return new Promise((resolve) => {
    const interrupted = (sig) => {
      // interrupted: stop the program, clean up after it, then leave
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
      cleanUp(work, o.runtime, root, o.keep);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    };
    const child = spawn(program, [], {
      cwd: work,
      detached: true, // its own process group: a timeout kills everything it started
      stdio: ['ignore', 'pipe', 'pipe'],
      // bundles (os.MkdirTemp) land under the work dir, so leftovers are found and removed
      env: { ...process.env, RUNTIME: wrapper, TMPDIR: tmp },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    }, o.timeout * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      process.off('SIGINT', interrupted);
      process.off('SIGTERM', interrupted);
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* group already gone */ }
      const tap = parseTap(stdout);
      const verdict = verdictOf(tap, code ?? 128, timedOut);
      const cleanup = cleanUp(work, o.runtime, root, o.keep);
      resolve({ name, verdict, ok: tap.ok, notOk: tap.notOk, skip: tap.skip, planned: tap.planned, exit: code ?? `signal ${signal}`,
        seconds: (Date.now() - started) / 1000, failures: tap.failures, stdout, stderr, cleanup, workDir: o.keep ? work : undefined });
    });
  });
}

function pad(s, n) {
  s = String(s);
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid && process.getuid() !== 0) process.stderr.write('warning: the validation programs expect to run as root\n');
  for (const need of ['runtimetest', `rootfs-${GOARCH}.tar.gz`]) {
    if (!fs.existsSync(path.join(o.suite, need))) usage(`${path.join(o.suite, need)} is missing (build the suite first: make runtimetest validation-executables)`);
  }
  const programs = findPrograms(o.suite);
  if (programs.size === 0) usage(`no validation programs (*.t) under ${o.suite}`);
  const expected = fs.existsSync(o.expected) ? JSON.parse(fs.readFileSync(o.expected, 'utf8')).programs ?? {} : {};
  const names = o.only ?? [...programs.keys()];
  for (const n of names) if (!programs.has(n)) usage(`no program ${n} in the suite`);

  process.stdout.write(`runtime: ${o.runtime}${o.ociVersion ? ` (ociVersion rewritten to ${o.ociVersion})` : ''}\nsuite:   ${o.suite} (${names.length} programs)\n\n`);
  const header = `${pad('program', 40)} ${pad('ok', 4)} ${pad('not ok', 6)} ${pad('skip', 4)} ${pad('verdict', 8)} expected`;
  process.stdout.write(`${header}\n${'-'.repeat(header.length + 6)}\n`);
  const results = [];
  const mustPassFailures = [];
  for (const name of names) {
    const r = await runProgram(name, programs.get(name), o);
    const exp = expected[name];
    r.mustPass = exp ? exp.mustPass !== false : false;
    const mark = r.mustPass ? (r.verdict === 'pass' ? 'must pass' : 'must pass  <-- REGRESSION') : (exp ? 'may fail' : 'not listed');
    if (r.mustPass && r.verdict !== 'pass') mustPassFailures.push(name);
    process.stdout.write(`${pad(name, 40)} ${pad(r.ok, 4)} ${pad(r.notOk, 6)} ${pad(r.skip, 4)} ${pad(r.verdict, 8)} ${mark}\n`);
    results.push(r);
  }
  const count = (v) => results.filter((r) => r.verdict === v).length;
  const sum = (k) => results.reduce((a, r) => a + r[k], 0);
  process.stdout.write(`${'-'.repeat(header.length + 6)}\n`);
  process.stdout.write(`${pad('total', 40)} ${pad(sum('ok'), 4)} ${pad(sum('notOk'), 6)} ${pad(sum('skip'), 4)}\n`);
  process.stdout.write(`programs: ${results.length}; pass ${count('pass')}, fail ${count('fail')}, crash ${count('crash')}, timeout ${count('timeout')}, skip ${count('skip')}\n`);
  const cleaned = results.filter((r) => r.cleanup.length);
  for (const r of cleaned) process.stdout.write(`cleanup after ${r.name}: ${r.cleanup.join('; ')}\n`);
  if (o.json) fs.writeFileSync(o.json, JSON.stringify({ runtime: o.runtime, ociVersion: o.ociVersion ?? null, results }, null, 2));
  if (mustPassFailures.length) {
    process.stdout.write(`\nmust-pass programs that did not pass: ${mustPassFailures.join(', ')}\n`);
    process.exit(1);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    process.stderr.write(`run.mjs: ${e.stack || e}\n`);
    process.exit(2);
  });
}
