/**
 * Who starts, waits for and reaps the processes of a launch (tsoci-init and what is
 * re-parented to us meanwhile). Cold, that is this process through the addon. Warm (a pool
 * worker serving a launcher's command, see src/warm/), it is the launcher: the container's
 * init must be the caller's descendant, as with runc, so conmon's or the shim's subreaper
 * gets it. The lifecycle code asks `initHost()` and never which one it is.
 */
import type { ChildExit, NativeFailure } from '../native';
import { addonInitHost } from './addon-host';

export interface SpawnedInit {
  pid: number;
  /** our end of the sync socket (the init has the other at 3 + preserveFds) */
  fd: number;
}

export interface InitHost {
  /** PR_SET_CHILD_SUBREAPER on the process that spawns the init: 0 or an errno */
  setChildSubreaper(): number;
  /** tsoci-init with fds 0..2 and 3..3+preserveFds-1 of the caller, and its sync socket at 3+preserveFds */
  spawnInit(path: string, argv0: string, env: string[], preserveFds: number): SpawnedInit | NativeFailure;
  /** waits for a child of the host (blocking: a failed launch, a detached stage0) */
  waitChildSync(pid: number): ChildExit | NativeFailure;
  /** waits for a child of the host without blocking the event loop (foreground run/exec) */
  waitChild(pid: number): Promise<ChildExit | NativeFailure>;
  /** reaps a (re-parented) child that was killed: 0 or an errno */
  reapChild(pid: number): number;
  /** kills and reaps the tsoci-init stages re-parented to the host by a failed launch */
  reapOrphanedInits(): void;
}

let host: InitHost | undefined;

/** The host of this process's launches: the addon unless one was chosen at start-up. */
export function initHost(): InitHost {
  return (host ??= addonInitHost);
}

/** Chosen once, before the command runs (a warm worker picks the launcher's). */
export function useInitHost(chosen: InitHost): void {
  if (host && host !== chosen) throw new Error('the init host is chosen once, before the command');
  host = chosen;
}
