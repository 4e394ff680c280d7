import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, stateOf, tsoci, tsociAsync, uniqueId, REPO, TEST_ROOT, type Result } from '../helpers/tsoci';
import { settledDiff, snapshot } from '../helpers/leaks';
import { Rng, fuzzSeed } from '../fuzz/rng';
import { WRONG_TYPES, allPaths, mutate, setAt } from '../fuzz/mutate';
import { BAD_CONFIGS, BAD_IDS, BAD_SIGNALS, ODD_IDS, badProcesses } from '../fuzz/corpus';
import { loadProcess, parseSpec } from '../../src/spec/load';
import { planLaunch } from '../../src/plan/plan';
import { TsociError } from '../../src/util/errors';

// Bad input, hand-written and generated: tsoci never crashes. In-process, parseSpec +
// planLaunch throw only TsociError with a message; through the CLI, create exits 0 (then
// delete) or 1 with one line and no stack trace, and nothing leaks.
// TSOCI_FUZZ_CASES (in-process mutations, default 3000), TSOCI_FUZZ_CLI (CLI creates,
// default 150), TSOCI_FUZZ_SEED (replay).

const SEED = fuzzSeed();
const CASES = Number(process.env.TSOCI_FUZZ_CASES ?? 3000);
const CLI_CASES = Number(process.env.TSOCI_FUZZ_CLI ?? 150);
const counts: Record<string, number> = {};
const count = (k: string, n = 1) => (counts[k] = (counts[k] ?? 0) + n);

beforeAll(() => process.stdout.write(`fuzz seed ${SEED} (replay with TSOCI_FUZZ_SEED=${SEED})\n`));
afterAll(() => process.stdout.write(`fuzz cases: ${JSON.stringify(counts)} (seed ${SEED})\n`));
afterEach(() => deleteAll());

const VALID_DIR = path.join(REPO, 'test/fixtures/configs/valid');
const BASES: { name: string; config: any }[] = [
  ...fs.readdirSync(VALID_DIR).filter((f) => f.endsWith('.json')).map((f) => ({ name: f, config: JSON.parse(fs.readFileSync(path.join(VALID_DIR, f), 'utf8')) })),
  { name: 'podman-config.json', config: JSON.parse(fs.readFileSync(path.join(REPO, 'test/fixtures/clients/podman-config.json'), 'utf8')) },
];

const PLAN_OPTS = { bundle: '/fuzz/bundle', mode: 'create' as const, wait: 'detach' as const, execFifo: '/fuzz/bundle/exec.fifo', preserveFds: 0, noPivot: false, isDirectory: () => true };

let lastAccepted = false;
/** undefined when the input was accepted or refused properly; else what went wrong. */
function inProcess(text: string): string | undefined {
  lastAccepted = false;
  try {
    planLaunch(parseSpec(text), PLAN_OPTS);
    lastAccepted = true;
    return undefined;
  } catch (err) {
    if (!(err instanceof TsociError)) return `${(err as Error)?.name}: ${(err as Error)?.message} ${(err as Error)?.stack?.split('\n')[1] ?? ''}`;
    if (!err.message.trim()) return 'TsociError without a message';
    return undefined;
  }
}

describe('in-process: parseSpec + planLaunch only ever throw TsociError', () => {
  test('wrong types at every level of the runc, podman and everything configs', () => {
    const failures: string[] = [];
    for (const name of ['v10-runc-spec.json', 'podman-config.json', 'v13-everything.json']) {
      const base = BASES.find((b) => b.name === name)!.config;
      for (const p of allPaths(base)) {
        for (const wrong of [...WRONG_TYPES, undefined]) {
          count('in-process wrong type');
          const problem = inProcess(JSON.stringify(setAt(base, p, wrong as any)));
          if (problem) failures.push(`${name} /${p.join('/')} = ${JSON.stringify(wrong)}: ${problem}`);
        }
      }
    }
    expect(failures.slice(0, 20)).toEqual([]);
  });

  test(`${CASES} seeded mutations of every valid config`, () => {
    const rng = new Rng(SEED);
    const failures: string[] = [];
    let accepted = 0;
    for (let i = 0; i < CASES; i++) {
      const base = rng.pick(BASES);
      const { value, what } = mutate(rng, base.config);
      count('in-process mutation');
      const text = JSON.stringify(value);
      const problem = inProcess(text);
      if (problem) failures.push(`seed ${SEED} case ${i} (${base.name}: ${what.join('; ')}): ${problem}`);
      else if (lastAccepted) accepted++;
    }
    count('in-process mutation accepted', accepted);
    expect(failures.slice(0, 20)).toEqual([]);
  });

  test('exec --process files: the corpus and seeded mutations', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-fuzz-'));
    const spec = parseSpec(JSON.stringify(testSpec(['sleep', '600'])));
    const rng = new Rng(SEED ^ 0x5eed);
    const failures: string[] = [];
    const tryProcess = (name: string, content: string) => {
      count('in-process exec process');
      const file = path.join(dir, 'process.json');
      fs.writeFileSync(file, content);
      try {
        planLaunch(spec, { ...PLAN_OPTS, mode: 'exec', wait: 'foreground', process: loadProcess(file), execTargetPid: 1 });
      } catch (err) {
        if (!(err instanceof TsociError) || !err.message) failures.push(`${name}: ${(err as Error).name}: ${(err as Error).message}`);
      }
    };
    try {
      for (const c of badProcesses(spec.process)) tryProcess(c.name, typeof c.process === 'string' ? c.process : JSON.stringify(c.process));
      for (let i = 0; i < Math.ceil(CASES / 6); i++) {
        const { value, what } = mutate(rng, spec.process as any);
        tryProcess(`seed ${SEED} process case ${i} (${what.join('; ')})`, JSON.stringify(value));
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(failures.slice(0, 20)).toEqual([]);
  });
});

/** Exit 0, or 1 with exactly one line on stderr and no stack trace. */
/** `failStatus`: what a clean refusal exits with (1; exec: runc's 255). */
function cliProblem(r: Result, failStatus = 1): string | undefined {
  if (r.status === 0) return undefined;
  if (r.status !== failStatus) return `exit status ${r.status}: ${r.stderr.slice(0, 300)}`;
  const lines = r.stderr.trim().split('\n');
  if (lines.length !== 1 || !lines[0]) return `not one line: ${JSON.stringify(r.stderr.slice(0, 300))}`;
  if (/internal error|\n\s+at |Error: /.test(r.stderr)) return `crash: ${r.stderr.slice(0, 300)}`;
  return undefined;
}

/** What a generated config must not do to the host, whatever else it asks for. */
function sanitize(c: any, id: string): any {
  if (!c || typeof c !== 'object' || Array.isArray(c)) return c;
  const out = { ...c, root: { ...(typeof c.root === 'object' && c.root ? c.root : {}), path: 'rootfs' } };
  delete out.hooks; // would run host binaries
  if (out.linux && typeof out.linux === 'object' && !Array.isArray(out.linux)) {
    const linux = { ...out.linux };
    delete linux.sysctl; // without its namespace a sysctl is the host's
    delete linux.netDevices; // would move a host interface
    delete linux.intelRdt;
    delete linux.cgroupsPath; // the default <own cgroup>/<id>, removed by delete
    const ns = Array.isArray(linux.namespaces) ? linux.namespaces.filter((n: any) => !(n && typeof n === 'object' && 'path' in n)) : [];
    for (const t of ['mount', 'pid', 'network', 'ipc', 'uts']) {
      if (!ns.some((n: any) => n && n.type === t)) ns.push({ type: t });
    }
    linux.namespaces = ns;
    out.linux = linux;
  } else {
    out.linux = { namespaces: ['mount', 'pid', 'network', 'ipc', 'uts'].map((type) => ({ type })) };
  }
  void id;
  return out;
}

describe('through the CLI', () => {
  let bundles: string[] = [];
  const ESCAPES = ['/tmp/tsoci-fuzz-escape', '/tsoci-fuzz-escape', '/tsoci-fuzz-escape-dev', '/tmp/tsoci-fuzz-pwned'];
  beforeAll(() => {
    bundles = Array.from({ length: 4 }, () => {
      const b = makeBundle(testSpec(['sleep', '600']), 'tsoci-fuzz-bundle-');
      fs.symlinkSync('/', path.join(b, 'rootfs/escape-abs'));
      fs.symlinkSync('../../../../../../../..', path.join(b, 'rootfs/escape-rel'));
      return b;
    });
  });
  afterAll(() => bundles.forEach(removeBundle));
  afterEach(() => {
    for (const e of ESCAPES) expect(fs.existsSync(e)).toBe(false);
  });

  async function createAndClean(bundle: string, config: string, id: string): Promise<string | undefined> {
    fs.writeFileSync(path.join(bundle, 'config.json'), config);
    const r = await tsociAsync(['create', '--bundle', bundle, id]);
    const problem = cliProblem(r);
    if (r.status === 0) {
      count('cli create accepted');
      const d = await tsociAsync(['delete', '--force', id]);
      if (d.status !== 0) return `delete --force after a successful create failed: ${d.stderr}`;
    }
    if (fs.existsSync(path.join(TEST_ROOT, id))) return 'state left behind';
    return problem;
  }

  test(`the bad-config corpus (${BAD_CONFIGS.length} cases)`, async () => {
    const before = snapshot(TEST_ROOT);
    const base = testSpec(['sleep', '600']);
    const failures: string[] = [];
    const ids: string[] = [];
    for (const c of BAD_CONFIGS) {
      const id = uniqueId('corpus');
      ids.push(id);
      count('cli corpus');
      const made = typeof c.config === 'string' ? c.config : c.config(base);
      const text = typeof made === 'string' ? made : JSON.stringify(made);
      const problem = await createAndClean(bundles[0], text, id);
      if (problem) failures.push(`${c.name}: ${problem}`);
    }
    expect(failures).toEqual([]);
    expect(settledDiff(before, TEST_ROOT, { mentioning: [...ids, ...bundles] })).toEqual([]);
  }, 120000);

  test(`${CLI_CASES} seeded mutations through create (4 at a time)`, async () => {
    const before = snapshot(TEST_ROOT);
    const rng = new Rng(SEED ^ 0xc11);
    const failures: string[] = [];
    const ids: string[] = [];
    let next = 0;
    const lane = async (bundle: string) => {
      while (next < CLI_CASES) {
        const i = next++;
        const base = rng.pick(BASES);
        const { value, what } = mutate(rng, base.config);
        const id = uniqueId('fz');
        ids.push(id);
        count('cli mutation');
        const problem = await createAndClean(bundle, JSON.stringify(sanitize(value, id)), id);
        if (problem) failures.push(`seed ${SEED} cli case ${i} (${base.name}: ${what.join('; ')}): ${problem}`);
      }
    };
    await Promise.all(bundles.map(lane));
    expect(failures.slice(0, 20)).toEqual([]);
    expect(settledDiff(before, TEST_ROOT, { mentioning: [...ids, ...bundles], timeoutMs: 5000 })).toEqual([]);
  }, 300000);

  test('ids with path tricks are refused; odd legal ids stay inside the root', () => {
    const parent = path.dirname(TEST_ROOT);
    const siblings = fs.readdirSync(parent).sort();
    fs.writeFileSync(path.join(bundles[1], 'config.json'), JSON.stringify(testSpec(['sleep', '600'])));
    for (const id of BAD_IDS) {
      count('cli id');
      const r = tsoci(['create', '--bundle', bundles[1], id]);
      expect(cliProblem(r)).toBeUndefined();
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/invalid container id|Not enough non-option arguments/);
    }
    for (const id of ODD_IDS) {
      count('cli id');
      const r = tsoci(['create', '--bundle', bundles[1], id]);
      expect(cliProblem(r)).toBeUndefined();
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
      expect([0, 1]).toContain(r.status);
      if (r.status === 0) {
        expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(true);
        expect(stateOf(id).id).toBe(id);
        expect(tsoci(['delete', '--force', id]).status).toBe(0);
      }
      expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
    }
    expect(fs.readdirSync(parent).sort()).toEqual(siblings);
  });

  test('invalid signals are refused and change nothing', () => {
    fs.writeFileSync(path.join(bundles[2], 'config.json'), JSON.stringify(testSpec(['sleep', '600'])));
    const id = uniqueId('sig');
    expect(tsoci(['create', '--bundle', bundles[2], id]).status).toBe(0);
    for (const sig of BAD_SIGNALS) {
      count('cli signal');
      const r = tsoci(['kill', id, sig]);
      expect(`${JSON.stringify(sig)}: ${cliProblem(r) ?? ''}`).toBe(`${JSON.stringify(sig)}: `);
      expect(r.status).toBe(1);
      // ("-1" and the like are flags to runc's parser too: "flag provided but not defined: -1")
      expect(r.stderr).toMatch(/invalid signal|Not enough|signal|flag provided but not defined/);
    }
    expect(stateOf(id).status).toBe('created');
  });

  test('exec --process with every field wrong (and each alone) fails cleanly, starts nothing', () => {
    fs.writeFileSync(path.join(bundles[3], 'config.json'), JSON.stringify(testSpec(['sleep', '600'])));
    const id = uniqueId('xproc');
    expect(tsoci(['run', '-d', '--bundle', bundles[3], id]).status).toBe(0);
    const tasks = () => fs.readFileSync(`/proc/${stateOf(id).pid}/task/${stateOf(id).pid}/children`, 'utf8').trim();
    const childrenBefore = tasks();
    const file = path.join(bundles[3], 'process.json');
    const failures: string[] = [];
    for (const c of badProcesses(testSpec(['sh']).process)) {
      count('cli exec process');
      fs.writeFileSync(file, typeof c.process === 'string' ? c.process : JSON.stringify(c.process));
      const r = tsoci(['exec', '--process', file, id]);
      const problem = cliProblem(r, 255) ?? (r.status === 0 ? 'accepted' : undefined);
      if (problem) failures.push(`${c.name}: ${problem}`);
    }
    expect(failures).toEqual([]);
    expect(stateOf(id).status).toBe('running');
    expect(tasks()).toBe(childrenBefore);
  });
});
