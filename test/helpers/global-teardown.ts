import * as fs from 'fs';
import { diff, snapshot } from './leaks';
import { TEST_ROOT } from './tsoci';
import { SNAPSHOT_FILE } from './global-setup';
import { alive, poolStatus, SUITE_POOL_DIR, warm } from './warm-pool';

/**
 * TSOCI_TEST_WARM=1: stops the suite's pool and checks it is gone (supervisor, workers,
 * directory). A pool that served no command proves nothing about the warm path: that fails.
 */
async function stopSuitePool(): Promise<string[]> {
  const problems: string[] = [];
  let s: ReturnType<typeof poolStatus> | undefined;
  try {
    s = poolStatus(SUITE_POOL_DIR);
  } catch (err) {
    problems.push(`the warm pool was not running at the end of the suite: ${(err as Error).message.trim()}`);
  }
  const stop = warm(SUITE_POOL_DIR, ['stop']);
  if (s && stop.status !== 0) problems.push(`tsoci warm stop: ${stop.stderr.trim()}`);
  if (s) {
    const pids = [s.supervisorPid, ...s.workers.filter((w) => w.state !== 'busy').map((w) => w.pid)];
    for (let i = 0; i < 50 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
    for (const pid of pids.filter(alive)) problems.push(`warm pool process ${pid} still running after warm stop`);
    const served = Object.values(s.served).reduce((a, b) => a + b, 0);
    const fallbacks = Object.values(s.fallbacks).reduce((a, b) => a + b, 0);
    const list = (r: Record<string, number>) => Object.entries(r).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}=${v}`).join(' ');
    process.stdout.write(`\nwarm pool: served ${served} command(s) (${list(s.served)}), ${fallbacks} fallback(s) to cold (${list(s.fallbacks)}), ${s.respawns} respawns\n`);
    if (served === 0) problems.push('the warm pool served no command: the warm-mode run did not test the warm path');
  }
  if (fs.existsSync(SUITE_POOL_DIR)) problems.push(`${SUITE_POOL_DIR} still exists after warm stop: ${fs.readdirSync(SUITE_POOL_DIR).join(', ')}`);
  return problems;
}

/** Fails the suite when it left containers, mounts, init processes or cgroups behind. */
export default async function globalTeardown(): Promise<void> {
  const warmProblems = process.env.TSOCI_TEST_WARM === '1' ? await stopSuitePool() : [];
  const before = JSON.parse(fs.readFileSync(SNAPSHOT_FILE, 'utf8'));
  // give just-killed processes a moment to be reaped
  let leaks: string[] = [];
  for (let i = 0; i < 20; i++) {
    leaks = diff(before, snapshot(TEST_ROOT), true);
    if (leaks.length === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  fs.rmSync(SNAPSHOT_FILE, { force: true });
  if (warmProblems.length > 0) {
    const msg = `warm mode: ${warmProblems.join('; ')}`;
    process.stderr.write(`\nWARM POOL CHECK FAILED: ${msg}\n`);
    if (leaks.length === 0) throw new Error(msg);
  }
  if (leaks.length > 0) {
    const msg = `the test suite leaked ${leaks.length} item(s):\n  ${leaks.join('\n  ')}`;
    process.stderr.write(`\nLEAK CHECK FAILED: ${msg}\n`);
    throw new Error(msg + (warmProblems.length ? `\nwarm mode: ${warmProblems.join('; ')}` : ''));
  }
  process.stdout.write('\nleak check: no containers, mounts, init or container processes, zombies, cgroups, state files or temp bundles left behind\n');
}
