import * as os from 'os';

/** Whether a process with this pid exists (a zombie too; another user's too: EPERM says it is there). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Sends a signal to a process that may be gone already. */
export function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* gone already */
  }
}

/** A signal's name from its number (SIGKILL for 9). */
export const signalName = (n: number): string | undefined => Object.entries(os.constants.signals).find(([, v]) => v === n)?.[0];

/** Signals the processes and waits until they are gone (SIGKILL after the grace period; gives up after twice it). */
export async function ended(pids: number[], signal: NodeJS.Signals, graceMs: number): Promise<void> {
  for (const pid of pids) kill(pid, signal);
  const killAt = Date.now() + graceMs;
  let left = pids;
  while ((left = left.filter(processExists)).length > 0 && Date.now() < killAt + graceMs) {
    if (Date.now() > killAt) for (const pid of left) kill(pid, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
