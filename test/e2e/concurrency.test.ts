import * as fs from 'fs';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, stateOf, tsoci, tsociAsync, uniqueId, TEST_ROOT, type Result } from '../helpers/tsoci';
import { settledDiff, snapshot } from '../helpers/leaks';

// Many tsoci processes at once, on distinct ids and on the same one. The state store's
// guarantees: mkdir claims an id atomically, flock serialises mutations, state.json is
// replaced by rename (never seen half-written). TSOCI_CONCURRENCY scales the counts.

const SCALE = Number(process.env.TSOCI_CONCURRENCY ?? 1);
const noStack = (r: Result) => expect(r.stderr).not.toMatch(/\n\s+at |internal error/);

let bundle: string;
beforeAll(() => {
  bundle = makeBundle(testSpec(['sleep', '600']));
});
afterEach(() => deleteAll());
afterAll(() => removeBundle(bundle));

test(`${50 * SCALE} concurrent create/start/delete pipelines on distinct ids all succeed`, async () => {
  const before = snapshot(TEST_ROOT);
  const ids = Array.from({ length: 50 * SCALE }, () => uniqueId('many'));
  const results = await Promise.all(ids.map(async (id) => {
    const steps: [string, Result][] = [];
    for (const args of [['create', '--bundle', bundle, id], ['start', id], ['delete', '--force', id]]) {
      const r = await tsociAsync(args);
      steps.push([args[0], r]);
      if (r.status !== 0) break;
    }
    return { id, steps };
  }));
  const failures = results.flatMap(({ id, steps }) => steps.filter(([, r]) => r.status !== 0).map(([verb, r]) => `${id} ${verb}: ${r.stderr.trim()}`));
  expect(failures).toEqual([]);
  expect(results.every(({ steps }) => steps.length === 3)).toBe(true);
  expect(settledDiff(before, TEST_ROOT, { mentioning: ids, timeoutMs: 5000 })).toEqual([]);
}, 120000);

test('20 concurrent creates of one id: exactly one wins, the others fail cleanly', async () => {
  const id = uniqueId('one');
  const results = await Promise.all(Array.from({ length: 20 }, () => tsociAsync(['create', '--bundle', bundle, id])));
  expect(results.filter((r) => r.status === 0)).toHaveLength(1);
  for (const r of results.filter((x) => x.status !== 0)) {
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`container with id exists: ${id}`);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  }
  expect(stateOf(id).status).toBe('created');
  expect(tsoci(['delete', id]).status).toBe(0);
});

test('concurrent delete --force, kill, state and start on one container never corrupt it', async () => {
  const rounds = 5 * SCALE;
  const expected = /container "[^"]+" does not exist|container not running|cannot start a container that (has stopped|is \w+)|cannot delete container|no such process|not stopped/;
  for (let round = 0; round < rounds; round++) {
    const before = snapshot(TEST_ROOT);
    const id = uniqueId('race');
    expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
    const ops = [
      ['start', id], ['kill', id, 'KILL'], ['kill', id, 'TERM'], ['delete', '--force', id], ['state', id],
      ['kill', '--all', id, 'KILL'], ['delete', '--force', id], ['state', id], ['start', id], ['kill', id, 'KILL'],
    ];
    // a different interleaving each round
    const order = ops.map((op, i) => [op, (i * 7 + round * 3) % ops.length] as const).sort((a, b) => a[1] - b[1]).map(([op]) => op);
    const results = await Promise.all(order.map((op) => tsociAsync(op)));
    results.forEach((r, i) => {
      noStack(r);
      if (r.status !== 0) expect(`${order[i].join(' ')}: ${r.stderr}`).toMatch(expected);
      if (order[i][0] === 'state' && r.status === 0) expect(['created', 'running', 'stopped']).toContain(JSON.parse(r.stdout).status);
    });
    // afterwards: gone, or a consistent stopped/running container that delete --force removes
    const st = tsoci(['state', id]);
    if (st.status === 0) {
      expect(['created', 'running', 'stopped']).toContain(JSON.parse(st.stdout).status);
      expect(tsoci(['delete', '--force', id]).status).toBe(0);
    } else {
      expect(st.stderr).toContain('does not exist');
    }
    expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
    expect(settledDiff(before, TEST_ROOT, { mentioning: [id] })).toEqual([]);
  }
}, 120000);

test('create racing delete --force on the same id: the container ends up gone or whole', async () => {
  for (let round = 0; round < 4 * SCALE; round++) {
    const before = snapshot(TEST_ROOT);
    const id = uniqueId('cd');
    const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const [c, d] = await Promise.all([
      tsociAsync(['create', '--bundle', bundle, id]),
      delay(round * 25).then(() => tsociAsync(['delete', '--force', id])),
    ]);
    noStack(c);
    noStack(d);
    expect(d.status).toBe(0);
    if (c.status !== 0) expect(c.stderr).toMatch(/does not exist|exited before it was ready|container init|no such file/);
    const st = tsoci(['state', id]);
    if (st.status === 0) expect(JSON.parse(st.stdout).status).toBe('created');
    expect(tsoci(['delete', '--force', id]).status).toBe(0);
    expect(settledDiff(before, TEST_ROOT, { mentioning: [id] })).toEqual([]);
  }
}, 60000);

test('state.json is never seen half-written while create, start, kill, state and delete run', async () => {
  const rounds = 5 * SCALE;
  let reads = 0;
  let parsed = 0;
  const torn: string[] = [];
  for (let round = 0; round < rounds; round++) {
    const id = uniqueId('torn');
    const file = path.join(TEST_ROOT, id, 'state.json');
    let stop = false;
    // the reader: between every event-loop turn, read and parse the file if it is there
    const reader = (async () => {
      while (!stop) {
        let text: string | undefined;
        try {
          text = fs.readFileSync(file, 'utf8');
        } catch {
          /* not there (yet / any more) */
        }
        if (text !== undefined) {
          reads++;
          try {
            JSON.parse(text);
            parsed++;
          } catch {
            torn.push(text);
          }
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    const lifecycle = (async () => {
      const results = [await tsociAsync(['create', '--bundle', bundle, id])];
      results.push(...(await Promise.all([tsociAsync(['start', id]), tsociAsync(['state', id]), tsociAsync(['state', id])])));
      results.push(...(await Promise.all([tsociAsync(['kill', id, 'KILL']), tsociAsync(['state', id])])));
      results.push(await tsociAsync(['delete', '--force', id]));
      return results;
    })();
    const results = await lifecycle;
    stop = true;
    await reader;
    for (const r of results) {
      noStack(r);
      expect(r.stderr).not.toMatch(/corrupt state/);
    }
    expect(results[0].status).toBe(0);
  }
  expect(torn).toEqual([]);
  expect(parsed).toBe(reads);
  expect(reads).toBeGreaterThan(0);
  process.stdout.write(`state.json: ${reads} reads during ${rounds} lifecycles, none torn\n`);
}, 120000);
