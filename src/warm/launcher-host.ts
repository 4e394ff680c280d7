/**
 * The warm init host: the launcher (bin/tsoci, cpp/launcher/warm_serve.cc) that handed this
 * worker its command spawns tsoci-init as its own child, is the subreaper, waits and reaps.
 * So the container's init descends from the caller (conmon's or the shim's subreaper gets
 * it, as with runc) and inherits the caller's rlimits, cgroup and affinity.
 */
import type { InitHost } from '../launch/init-host';
import { warmNative, WarmOp } from './warm-native';

export function launcherInitHost(conn: number): InitHost {
  const w = warmNative();
  return {
    setChildSubreaper: () => w.warmCall(conn, WarmOp.Subreaper, 0).err,
    spawnInit: (path, argv0, env, preserveFds) => w.warmSpawnInit(conn, path, argv0, env, preserveFds),
    waitChildSync: (pid) => w.warmWaitChildSync(conn, pid),
    waitChild: (pid) => w.warmWaitChild(conn, pid),
    reapChild: (pid) => w.warmCall(conn, WarmOp.Reap, pid).err,
    reapOrphanedInits: () => void w.warmCall(conn, WarmOp.ReapOrphans, 0),
  };
}
