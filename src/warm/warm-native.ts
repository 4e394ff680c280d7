/** The addon's warm-handoff primitives (cpp/addon/warm_accept.cc, warm_host.cc). */
import { native, type ChildExit, type NativeFailure } from '../native';

/** Op codes of cpp/common/warm_protocol.h */
export const WarmOp = { Subreaper: 2, Reap: 4, ReapOrphans: 5, Exit: 6 } as const;
export type WarmOp = (typeof WarmOp)[keyof typeof WarmOp];

export interface AcceptedConnection {
  /** the connection (close-on-exec) */
  fd: number;
  /** the launcher, as SO_PEERCRED gives it */
  pid: number;
  uid: number;
  /** the request's NUL-terminated strings */
  body: Buffer;
  /** the caller's fds 0, 1, 2 (received, close-on-exec) */
  stdio: [number, number, number];
}

export interface WarmAddon {
  warmAccept(listenFd: number, eventsFd: number): AcceptedConnection | { error: string } | { closed: true };
  warmAnswer(fd: number, accept: boolean, reason: string): boolean;
  warmAdoptStdio(fds: number[]): number;
  /** '' once this process has all of pid's resource limits, else why not */
  warmAdoptRlimits(pid: number): string;
  warmCall(conn: number, op: WarmOp, arg: number): { err: number; value: number; step: string };
  warmSpawnInit(conn: number, path: string, argv0: string, env: string[], preserveFds: number): { pid: number; fd: number } | NativeFailure;
  warmWaitChild(conn: number, pid: number): Promise<ChildExit | NativeFailure>;
  warmWaitChildSync(conn: number, pid: number): ChildExit | NativeFailure;
  warmWatchLauncher(conn: number): number;
  /** blocks in the zygote; returns in each forked worker, or once the supervisor is gone */
  warmZygote(ctlFd: number, eventsFd: number): { worker: number } | { closed: true } | { error: string };
  /** _exit()s: a forked worker must not run Node's teardown */
  warmQuit(status: number): never;
  /** sends EXIT(status) and _exit()s */
  warmExit(conn: number, status: number): never;
}

export function warmNative(): WarmAddon {
  return native() as unknown as WarmAddon;
}
