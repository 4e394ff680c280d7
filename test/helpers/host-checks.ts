import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { diff, snapshot } from './leaks';
import { uniqueId, TEST_ROOT } from './tsoci';

// What a container or a hook left on the host, looked up by name (other work may run on
// the host: only items naming ours count).

/**
 * What this container left behind (state, mounts, processes, cgroups naming one of names),
 * given a while to go.
 */
export function leftovers(before: ReturnType<typeof snapshot>, ...names: string[]): string[] {
  let left: string[] = [];
  // (a detached init that died is re-parented to the host's PID 1, which may reap it late)
  for (let i = 0; i < 250; i++) {
    left = diff(before, snapshot(TEST_ROOT)).filter((l) => names.some((n) => l.includes(n)));
    if (left.length === 0) break;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
  return left;
}

/** `pgrep -a -f name`, without pgrep itself. */
export function processesNamed(name: string): string[] {
  try {
    return execFileSync('pgrep', ['-a', '-f', name], { encoding: 'utf8' }).split('\n').filter((l) => l && !l.includes('pgrep'));
  } catch {
    return [];
  }
}

/** `sleep` under a unique name in dir, so a test can find (and end) what a hook left behind. */
export function hangingCommand(dir: string): { path: string; name: string } {
  const name = uniqueId('hang');
  const p = path.join(dir, name);
  fs.symlinkSync('/bin/sleep', p);
  return { path: p, name };
}
