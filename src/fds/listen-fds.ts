/**
 * systemd socket activation, as runc does it for `create`/`run` (not `exec`): when
 * LISTEN_PID is our pid and LISTEN_FDS = n > 0, fds 3 … 3+n-1 are passed to the container
 * first, the --preserve-fds ones follow them, and the process gets LISTEN_FDS=n and
 * LISTEN_PID=1 appended to its environment.
 */
import type { LaunchPlan } from '../plan/launch-plan';
import { callerPid } from './caller-fds';

export function listenFdCount(env: NodeJS.ProcessEnv = process.env, pid: number = callerPid()): number {
  if (env.LISTEN_PID === undefined || env.LISTEN_FDS === undefined) return 0;
  if (!/^\d+$/.test(env.LISTEN_PID) || Number(env.LISTEN_PID) !== pid) return 0;
  if (!/^\d+$/.test(env.LISTEN_FDS)) return 0;
  return Number(env.LISTEN_FDS);
}

/** The env runc appends for the listen fds (the fds themselves are counted in plan.preserveFds). */
export function addListenEnv(plan: LaunchPlan, count: number): void {
  if (count > 0) plan.process.env.push(`LISTEN_FDS=${count}`, 'LISTEN_PID=1');
}
