#!/usr/bin/env node
// Benchmarks tsoci side by side with runc and crun in one sitting (issues 7, 16): tsoci
// cold (no pool) and warm (a pool the bench starts, bench/pool.mjs). Whole processes are
// timed; runtimes alternate run by run; medians and ratios are printed. Then docker and
// podman `run --rm` with each runtime (bench/managers.mjs), when installed.
// Usage: npm run bench [-- --quick] [-- --runs N] [-- --no-managers] [-- --pool-workers N (default 8: a burst of 20 finds workers waiting; a forked idle worker costs ~1 MB)]
import { spawnSync, spawn, execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fileURLToPath } from 'url';
import { ensureHost, makeBundle, podmanSeccomp } from './setup.mjs';
import { NO_POOL_DIR, POOL_DIR, poolStatus, settle, startPool, stopPool, wrapper } from './pool.mjs';
import { benchManagers } from './managers.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : quick ? 7 : 21;
const COUNTS = quick ? [1, 100] : [1, 100, 1000];

ensureHost();
const TSOCI = path.join(repo, 'bin/tsoci');
const RUNTIMES = {
  cold: [TSOCI],
  warm: [TSOCI],
  runc: ['runc'],
  crun: ['crun'],
};
const ENV = { cold: { ...process.env, TSOCI_WARM_DIR: NO_POOL_DIR }, warm: { ...process.env, TSOCI_WARM_DIR: POOL_DIR } };
const poolArg = process.argv.indexOf('--pool-workers');
const poolFailure = startPool(TSOCI, poolArg > 0 ? Number(process.argv[poolArg + 1]) : 8);
if (poolFailure) {
  console.error(`no warm column: tsoci warm start failed: ${poolFailure}`);
  delete RUNTIMES.warm;
}
const names = Object.keys(RUNTIMES);
const rootOf = (rt) => `/run/tsoci-bench/${rt}`;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-bench-'));
const bundle = makeBundle(path.join(work, 'bundle'), ['/bin/true']);
const bundleSeccomp = makeBundle(path.join(work, 'bundle-seccomp'), ['/bin/true'], podmanSeccomp());
const bundleSleep = makeBundle(path.join(work, 'bundle-sleep'), ['/bin/sleep', '3600']);

// Output goes to files: a created container inherits the runtime's stdio, and a pipe
// would keep spawnSync waiting for as long as the container lives.
const outFile = path.join(work, 'out');
const errFile = path.join(work, 'err');
function exec(rt, args, { allowFail = false } = {}) {
  const [bin, ...pre] = RUNTIMES[rt];
  const out = fs.openSync(outFile, 'w');
  const err = fs.openSync(errFile, 'w');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(bin, [...pre, '--root', rootOf(rt), ...args], { stdio: ['ignore', out, err], env: ENV[rt] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  fs.closeSync(out);
  fs.closeSync(err);
  const stdout = fs.readFileSync(outFile, 'utf8');
  if (r.status !== 0 && !allowFail) throw new Error(`${rt} ${args.join(' ')}: ${fs.readFileSync(errFile, 'utf8') || r.error}`);
  return { ms, ok: r.status === 0, stdout };
}
function timeCmd(argv, env = process.env) {
  const t0 = process.hrtime.bigint();
  spawnSync(argv[0], argv.slice(1), { stdio: 'ignore', env });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : NaN; };
let seq = 0;
const newId = (tag) => `b${process.pid}-${tag}-${seq++}`;
const results = []; // {name, values: {rt: ms}}
const failures = {};
function record(name, values) { results.push({ name, values }); }

// a runtime that cannot run a container on this host is left out, with its reason
const skipped = [];
for (const rt of ['runc', 'crun']) {
  const id = newId('probe');
  const r = exec(rt, ['run', '--bundle', bundle, id], { allowFail: true });
  if (!r.ok) {
    skipped.push(`${rt}: left out: ${fs.readFileSync(errFile, 'utf8').trim().split('\n').pop()}`);
    exec(rt, ['delete', '--force', id], { allowFail: true });
    delete RUNTIMES[rt];
    names.splice(names.indexOf(rt), 1);
  }
}
for (const n of skipped) console.error(n);
process.on('exit', () => {
  if (RUNTIMES.warm) stopPool(TSOCI);
});

// 1. the floor, sampled once per round of every benchmark below (this host's speed drifts over
// minutes): a row's cold/floor divides by the floor measured alongside it
// The floor is Node as tsoci's launcher starts it: without NODE_EXTRA_CA_CERTS, which Node
// loads at start-up (~50 ms with Debian's bundle) and the launcher keeps from it
// (src/util/caller-env.ts). Where the caller's environment names certificates, node -e 0 with
// them is timed too, and shown, not divided by.
const { NODE_EXTRA_CA_CERTS: callerCa, ...nodeEnv } = process.env;
const floors = {}; // row name -> node -e 0 samples taken in its rounds
const floorAll = [];
const floorWithCa = [];
function floorSample(...rows) {
  const ms = timeCmd([process.execPath, '-e', '0'], nodeEnv);
  floorAll.push(ms);
  for (const row of rows) (floors[row] ??= []).push(ms);
  if (callerCa !== undefined) floorWithCa.push(timeCmd([process.execPath, '-e', '0']));
}

// 2. run /bin/true, without and with podman's seccomp profile
for (const [label, b] of [['run /bin/true', bundle], ['run /bin/true + podman seccomp', bundleSeccomp]]) {
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = -1; i < RUNS; i++) {
    for (const rt of names) {
      const r = exec(rt, ['run', '--bundle', b, newId('run')], { allowFail: true });
      if (!r.ok) failures[`${label} (${rt})`] = (failures[`${label} (${rt})`] ?? 0) + 1;
      else if (i >= 0) samples[rt].push(r.ms); // i = -1 is the warm-up
    }
    if (i >= 0) floorSample(label);
  }
  record(label, Object.fromEntries(names.map((n) => [n, median(samples[n])])));
}

// 3. the lifecycle as containerd drives it
const steps = ['create', 'start', 'state', 'delete', 'delete --force'];
const lc = Object.fromEntries(steps.map((s) => [s, Object.fromEntries(names.map((n) => [n, []]))]));
for (let i = -1; i < RUNS; i++) {
  for (const rt of names) {
    const id = newId('lc');
    const t = {
      create: exec(rt, ['create', '--bundle', bundle, '--pid-file', path.join(work, `${id}.pid`), id]).ms,
      start: exec(rt, ['start', id]).ms,
      state: exec(rt, ['state', id]).ms,
    };
    waitStopped(rt, id);
    t.delete = exec(rt, ['delete', id]).ms;
    t['delete --force'] = exec(rt, ['delete', '--force', id]).ms;
    if (i >= 0) for (const s of steps) lc[s][rt].push(t[s]);
  }
  if (i >= 0) floorSample(...steps.map((s) => `lifecycle: ${s}`));
}
for (const s of steps) record(`lifecycle: ${s}`, Object.fromEntries(names.map((n) => [n, median(lc[s][n])])));
record('lifecycle: total', Object.fromEntries(names.map((n) => [n, steps.reduce((a, s) => a + median(lc[s][n]), 0)])));

function waitStopped(rt, id) {
  for (let k = 0; k < 500; k++) {
    const out = exec(rt, ['state', id], { allowFail: true }).stdout;
    if (!out || JSON.parse(out).status === 'stopped') return;
  }
}

// 4. state and list with N containers in the root
const rss = {};
for (const count of COUNTS) {
  const ids = Object.fromEntries(names.map((n) => [n, []]));
  for (const rt of names) {
    const have = ids[rt];
    while (have.length < count) { const id = newId(`n${count}`); exec(rt, ['create', '--bundle', bundleSleep, id]); have.push(id); }
  }
  if (count === 1) for (const rt of names) rss[rt] = initRss(rt, ids[rt][0]);
  for (const verb of ['state', 'list']) {
    const samples = Object.fromEntries(names.map((n) => [n, []]));
    for (let i = -1; i < RUNS; i++) {
      for (const rt of names) {
        const r = exec(rt, verb === 'state' ? ['state', ids[rt][0]] : ['list', '--format', 'json']);
        if (i >= 0) samples[rt].push(r.ms);
      }
      if (i >= 0) floorSample(`${verb} with ${count} container(s)`);
    }
    record(`${verb} with ${count} container(s)`, Object.fromEntries(names.map((n) => [n, median(samples[n])])));
  }
  for (const rt of names) for (const id of ids[rt]) exec(rt, ['delete', '--force', id], { allowFail: true });
}

function initRss(rt, id) {
  const pid = JSON.parse(exec(rt, ['state', id]).stdout).pid;
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

// 5. 20 containers created in parallel, then deleted
const parallel = {};
for (const rt of names) {
  if (rt === 'warm') settle(TSOCI);
  const ids = Array.from({ length: 20 }, () => newId('par'));
  const t0 = process.hrtime.bigint();
  const codes = await Promise.all(ids.map((id) => new Promise((resolve) => {
    const [bin, ...pre] = RUNTIMES[rt];
    spawn(bin, [...pre, '--root', rootOf(rt), 'create', '--bundle', bundleSleep, id], { stdio: 'ignore', env: ENV[rt] }).on('exit', resolve);
  })));
  const createdMs = Number(process.hrtime.bigint() - t0) / 1e6;
  await Promise.all(ids.map((id) => new Promise((resolve) => {
    const [bin, ...pre] = RUNTIMES[rt];
    spawn(bin, [...pre, '--root', rootOf(rt), 'delete', '--force', id], { stdio: 'ignore', env: ENV[rt] }).on('exit', resolve);
  })));
  parallel[rt] = { wall: Number(process.hrtime.bigint() - t0) / 1e6, createdMs, failures: codes.filter((c) => c !== 0).length };
}
record('20 parallel creates + deletes (wall)', Object.fromEntries(names.map((n) => [n, parallel[n].wall])));

// 6. CPU per cold create against node -e 0's (GNU time: user+sys, 10 ms ticks, so a mean of many)
let cpu;
if (RUNTIMES.cold) {
  const report = path.join(work, 'cpu');
  const cpuOf = (argv, env = ENV.cold) => {
    spawnSync('/usr/bin/time', ['-o', report, '-f', '%U %S', ...argv], { stdio: 'ignore', env });
    const [u, sys] = fs.readFileSync(report, 'utf8').trim().split('\n').pop().split(' ').map(Number);
    return (u + sys) * 1000;
  };
  const n = RUNS * 2;
  const creates = [];
  const nodes = [];
  const nodesWithCa = [];
  const [bin, ...pre] = RUNTIMES.cold;
  for (let i = 0; i < n; i++) {
    const id = newId('cpu');
    creates.push(cpuOf([bin, ...pre, '--root', rootOf('cold'), 'create', '--bundle', bundleSleep, id]));
    nodes.push(cpuOf([process.execPath, '-e', '0'], nodeEnv));
    if (callerCa !== undefined) nodesWithCa.push(cpuOf([process.execPath, '-e', '0'], process.env));
    exec('cold', ['delete', '--force', id], { allowFail: true });
  }
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  cpu = { create: mean(creates), floor: mean(nodes), floorWithCa: nodesWithCa.length ? mean(nodesWithCa) : undefined, n };
}

// 7. peak RSS of each command (GNU time)
const peak = {};
for (const rt of names) {
  const [bin, ...pre] = RUNTIMES[rt];
  const id = newId('rss');
  const m = (args) => {
    const report = path.join(work, 'rss');
    spawnSync('/usr/bin/time', ['-o', report, '-f', '%M', bin, ...pre, '--root', rootOf(rt), ...args], { stdio: 'ignore', env: ENV[rt] });
    return Number(fs.readFileSync(report, 'utf8').trim().split('\n').pop()) / 1024;
  };
  peak[rt] = Math.max(m(['create', '--bundle', bundle, id]), m(['start', id]), m(['state', id]), m(['delete', '--force', id]));
}

// 8. the pool's resident memory (supervisor + idle workers), once its workers are all ready
let pool;
if (RUNTIMES.warm) {
  settle(TSOCI);
  pool = poolStatus(TSOCI);
}

// 9. docker and podman with each runtime (wrappers give their shims tsoci cold or warm)
let managers = { rows: [], notes: ['docker, podman: left out (--no-managers)'] };
if (!process.argv.includes('--no-managers')) {
  const viaWrapper = Object.fromEntries(names.filter((n) => n !== 'crun').map((n) => [n, n === 'runc' ? execFileSync('sh', ['-c', 'command -v runc']).toString().trim() : wrapper(work, n, TSOCI)]));
  managers = await benchManagers(work, path.join(bundle, 'rootfs'), viaWrapper, quick ? 5 : 11);
  for (const row of managers.rows) results.push(row);
}
const after = RUNTIMES.warm ? poolStatus(TSOCI) : undefined;
if (RUNTIMES.warm) stopPool(TSOCI);

// report
const pad = (s, n) => String(s).padEnd(n);
const fmt = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? (a / b).toFixed(2) : 'n/a');
const cols = ['cold', 'warm', 'runc', 'crun'];
const lines = [];
lines.push(`${pad('benchmark (median ms)', 40)}${cols.map((c) => pad(c === 'cold' || c === 'warm' ? `tsoci ${c}` : c, 12)).join('')}${pad('warm/runc', 11)}${pad('cold/runc', 11)}cold/floor`);
for (const { name, values } of results) {
  lines.push(`${pad(name, 40)}${cols.map((c) => pad(fmt(values[c]), 12)).join('')}${pad(ratio(values.warm, values.runc), 11)}${pad(ratio(values.cold, values.runc), 11)}${floors[name] ? ratio(values.cold, median(floors[name])) : ''}`);
}
lines.push(`${pad('node -e 0 (floor)', 40)}${fmt(median(floorAll))}  (sampled in each round; cold/floor uses the row's own)`);
if (floorWithCa.length) lines.push(`${pad('node -e 0, NODE_EXTRA_CA_CERTS set', 40)}${fmt(median(floorWithCa))}  (the caller's environment names ${callerCa}: Node as the caller would start it; tsoci's launcher keeps it from Node)`);
if (cpu) lines.push(`${pad('CPU per cold create (ms, user+sys)', 40)}${pad(fmt(cpu.create), 12)}node -e 0: ${fmt(cpu.floor)}, ratio ${ratio(cpu.create, cpu.floor)}${cpu.floorWithCa === undefined ? '' : `; with NODE_EXTRA_CA_CERTS: ${fmt(cpu.floorWithCa)}, ratio ${ratio(cpu.create, cpu.floorWithCa)}`} (GNU time, mean of ${cpu.n})`);
lines.push('');
lines.push(`${pad('memory (MB)', 40)}${cols.map((c) => pad(c === 'cold' || c === 'warm' ? `tsoci ${c}` : c, 12)).join('')}`);
lines.push(`${pad('created container\'s waiting init RSS', 40)}${cols.map((c) => pad(fmt(rss[c]), 12)).join('')}`);
lines.push(`${pad('peak RSS of create/start/state/delete', 40)}${cols.map((c) => pad(fmt(peak[c]), 12)).join('')}`);
lines.push(`${pad('20 parallel creates: failures', 40)}${cols.map((c) => pad(parallel[c]?.failures ?? 'n/a', 12)).join('')}`);
if (pool) {
  const m = pool.memory;
  lines.push(`${pad(`warm pool memory (${pool.workersWanted} idle workers)`, 40)}${fmt(m.totalKiB / 1024)} (supervisor RSS ${fmt(m.supervisorKiB / 1024)}, zygote and workers PSS ${fmt(m.workersKiB / 1024)})`);
}
if (after) {
  const list = (r) => Object.entries(r).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}=${v}`).join(' ') || 'none';
  lines.push(`warm column: the pool served ${Object.values(after.served).reduce((a, b) => a + b, 0)} command(s) (${list(after.served)}); fallbacks to cold: ${list(after.fallbacks)}`);
} else lines.push(`no warm column: ${poolFailure}`);
lines.push('(warm peak RSS: the launcher\'s, or the cold Node\'s when the command fell back; a served command runs in a pool worker)');
for (const [what, n] of Object.entries(failures)) lines.push(`failed runs: ${what}: ${n}`);
for (const n of [...skipped, ...managers.notes]) lines.push(n);
lines.push('', `${RUNS} runs per figure after a warm-up (docker/podman: ${quick ? 5 : 11}); ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}; node ${process.version}; ${execFileSync('runc', ['--version']).toString().split('\n')[0]}; ${spawnSync('crun', ['--version']).stdout?.toString().split('\n')[0] ?? 'no crun'}`);
console.log(lines.join('\n'));
fs.rmSync(work, { recursive: true, force: true });
