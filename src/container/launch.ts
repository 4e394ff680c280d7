import { spawn, type ChildProcess } from 'child_process';
import type { Socket } from 'net';
import { initBinary, native } from '../native';
import type { LaunchPlan } from '../plan/launch-plan';
import { TsociError } from '../util/errors';
import { faultEnv } from '../util/fault';
import { SyncChannel } from './sync-channel';
import { reapOrphanedInits } from './orphans';

export interface LaunchCallbacks {
  /** stage0 exists and blocks reading its plan: put it into the container's cgroups now */
  onSpawned?(stage0Pid: number): void | Promise<void>;
  /** the container process exists (host pid) */
  onPid?(pid: number): void | Promise<void>;
  /** namespaces and mounts are ready, pivot_root is not done: prestart/createRuntime hooks */
  onHooks?(pid: number): void | Promise<void>;
}

export interface Launched {
  /** host pid of the container process */
  pid: number;
  /** stage0: in foreground mode its exit status is the container's */
  stage0: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Spawns tsoci-init, sends the plan and follows the sync protocol until the init is
 * ready. On any failure the init processes are killed before the error is thrown.
 */
export async function launch(plan: LaunchPlan, cb: LaunchCallbacks = {}): Promise<Launched> {
  // Orphans of a failed launch (stage2 once stage0 is gone) come to us and are reaped here,
  // not left as zombies for the host's init.
  native().setChildSubreaper();
  const preserved = Array.from({ length: plan.preserveFds }, (_, i) => 3 + i);
  const syncFd = 3 + plan.preserveFds;
  const stage0 = spawn(initBinary, [], {
    stdio: ['inherit', 'inherit', 'inherit', ...preserved, 'pipe'],
    // the init sees only what it needs: the container's env comes from the plan
    env: { TSOCI_SYNC_FD: String(syncFd), PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...faultEnv() },
    argv0: 'tsoci-init',
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    stage0.on('exit', (code, signal) => resolve({ code, signal }));
    stage0.on('error', () => resolve({ code: 127, signal: null }));
  });
  const spawnError = new Promise<Error>((resolve) => stage0.on('error', resolve));
  const channel = new SyncChannel(stage0.stdio[syncFd] as Socket);
  let pid = 0;
  try {
    if (!stage0.pid) throw new TsociError(`start ${initBinary}: ${(await spawnError).message}`);
    await cb.onSpawned?.(stage0.pid);
    channel.send(plan);
    for (;;) {
      const msg = await channel.next();
      if (msg === null) {
        const { code, signal } = await exited;
        throw new TsociError(`container init exited before it was ready (${signal ? `signal ${signal}` : `status ${code}`})`);
      }
      if (msg.type === 'pid') {
        pid = msg.pid;
        await cb.onPid?.(pid);
      } else if (msg.type === 'hooks') {
        await cb.onHooks?.(pid);
        channel.send({ type: 'continue' });
      } else if (msg.type === 'error') {
        throw new TsociError(msg.message, msg.errno !== undefined ? String(msg.errno) : undefined);
      } else if (msg.type === 'ready') {
        break;
      }
    }
  } catch (err) {
    channel.close();
    if (pid) killQuietly(pid);
    stage0.kill('SIGKILL');
    await exited;
    if (pid) native().reapChild(pid);
    reapOrphanedInits(); // e.g. a stage1 that reported an error and exited as stage0 was killed
    throw err;
  }
  channel.close();
  return { pid, stage0, exited };
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}
