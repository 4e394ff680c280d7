import { initBinary, errnoName, type ChildExit } from '../native';
import type { LaunchPlan } from '../plan/launch-plan';
import { TsociError } from '../util/errors';
import { faultEnv } from '../util/fault';
import { trace } from '../util/trace';
import { logDebug } from '../util/log';
import { SyncChannel } from './sync-channel';
import { initHost } from './init-host';

export interface LaunchCallbacks {
  /**
   * stage0 exists and blocks reading its plan: put it into the container's cgroups now. A
   * returned promise is awaited after the plan is built (see DeferredPlan), before stage0 gets it.
   */
  onSpawned?(stage0Pid: number): void | Promise<void>;
  /** the container process exists (host pid) */
  onPid?(pid: number): void | Promise<void>;
  /** namespaces and mounts are ready, pivot_root is not done: prestart/createRuntime hooks */
  onHooks?(pid: number): void | Promise<void>;
}

export interface Launched {
  /** host pid of the container process */
  pid: number;
  /** stage0's exit: in foreground mode its status is the container's; in detach mode it has exited */
  exited: Promise<ChildExit>;
}

/** A plan built once tsoci-init is spawned, so its start-up and cgroup join overlap the planning. */
export interface DeferredPlan {
  preserveFds: number;
  wait: LaunchPlan['wait'];
  build(): LaunchPlan;
}

/**
 * Spawns tsoci-init, sends the plan and follows the sync protocol until the init is
 * ready. On any failure the init processes are killed before the error is thrown.
 */
export async function launch(request: LaunchPlan | DeferredPlan, cb: LaunchCallbacks = {}): Promise<Launched> {
  // Orphans of a failed launch (stage2 once stage0 is gone) come to us and are reaped here,
  // not left as zombies for the host's init.
  const host = initHost();
  host.setChildSubreaper();
  const syncFd = 3 + request.preserveFds;
  // the init sees only what it needs: the container's env comes from the plan
  const env = { TSOCI_SYNC_FD: String(syncFd), PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...faultEnv() };
  const spawned = host.spawnInit(initBinary, 'tsoci-init', Object.entries(env).map(([k, v]) => `${k}=${v}`), request.preserveFds);
  if ('errno' in spawned) throw new TsociError(`start ${initBinary}: ${spawned.step}: ${errnoName(spawned.errno)}`);
  const stage0 = spawned.pid;
  const channel = new SyncChannel(spawned.fd);
  let pid = 0;
  let joined: Promise<void> | undefined;
  try {
    trace('spawned');
    joined = Promise.resolve(cb.onSpawned?.(stage0));
    joined.catch(() => undefined); // awaited below, or settled in the cleanup when build() throws
    const plan = 'build' in request ? request.build() : request;
    await joined;
    trace('joined');
    // --debug: the steps under the names runc's debug log gives them
    logDebug(`nsexec container setup: tsoci-init ${stage0} gets the ${plan.mode} plan`);
    channel.send(plan);
    for (;;) {
      const msg = channel.next();
      trace(`init: ${msg?.type}`);
      if (msg === null) {
        const { code, signal } = waitSync(stage0);
        throw new TsociError(`container init exited before it was ready (${signal ? `signal ${signal}` : `status ${code}`})`);
      }
      if (msg.type === 'pid') {
        pid = msg.pid;
        logDebug(`child process in init(): container process ${pid}`);
        await cb.onPid?.(pid);
      } else if (msg.type === 'hooks') {
        await cb.onHooks?.(pid);
        channel.send({ type: 'continue' });
      } else if (msg.type === 'error') {
        throw new TsociError(msg.message, msg.errno !== undefined ? String(msg.errno) : undefined);
      } else if (msg.type === 'ready') {
        logDebug(plan.mode === 'exec' ? 'setns_init: about to exec' : 'init: closing the pipe to signal completion');
        break;
      }
    }
  } catch (err) {
    channel.close();
    if (pid) killQuietly(pid);
    killQuietly(stage0);
    // a cgroup join / systemd call still in flight must end before the caller cleans up
    await joined?.catch(() => undefined);
    waitSync(stage0);
    if (pid) host.reapChild(pid);
    host.reapOrphanedInits(); // e.g. a stage1 that reported an error and exited as stage0 was killed
    throw err;
  }
  channel.close();
  // detach: stage0 exits as soon as its stage1 has (before "ready"); reap it now
  const exited = request.wait === 'foreground' ? waitAsync(stage0) : Promise.resolve(waitSync(stage0));
  return { pid, exited };
}

function waitSync(pid: number): ChildExit {
  const r = initHost().waitChildSync(pid);
  return 'errno' in r ? { code: 127, signal: null } : r;
}

async function waitAsync(pid: number): Promise<ChildExit> {
  const r = await initHost().waitChild(pid);
  return 'errno' in r ? { code: 127, signal: null } : r;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}
