import * as fs from 'fs';
import { native, errnoName } from '../native';
import { childProcess } from '../util/lazy';
import { TsociError } from '../util/errors';
import { CRIU_MIN_VERSION, compareVersions } from './binary';
import { decodeResp, encodeReq, ReqType, REQ_TYPE_NAMES, type CriuReq, type CriuResp } from './messages';

/** The addon's side of the channel (cpp/addon/criu.cc). */
interface CriuAddon {
  seqpacketPair(): [number, number] | { errno: number; error: string };
  seqpacketSend(fd: number, data: Buffer): number;
  seqpacketRecv(fd: number, timeoutMs: number): { data: Buffer; fd: number } | { errno: number; error: string };
}

const addon = (): CriuAddon => native() as unknown as CriuAddon;

/** A notification CRIU sends during a dump/restore (--notify-scripts), and an fd it attached. */
export interface Notification {
  script: string;
  pid: number;
  fd: number;
}

export interface SwrkOptions {
  /** CRIU's fds 0-2: what a restored process's inherited pipes are replaced with */
  stdio?: [number | 'inherit' | 'ignore', number | 'inherit' | 'ignore', number | 'inherit' | 'ignore'];
  /** passed to CRIU as fds 4, 5, ... (inherit_fd of external namespaces) */
  extraFds?: number[];
  /** CRIU runs and has not read the request yet (restore: put it into the cgroups) */
  onSpawned?(criuPid: number): void | Promise<void>;
  /** each notification, answered once this resolves; throwing fails the operation */
  onNotify?(n: Notification): void | Promise<void>;
}

/** A CRIU failure: what the caller names in its error, with the log that says why. */
export class CriuFailure extends TsociError {}

/**
 * One request to `criu swrk 3` over a SOCK_SEQPACKET pair: sends it, answers notifications,
 * returns the final response. CRIU holds the only other end, so its exit ends every wait.
 */
export async function swrk(binary: string, request: CriuReq, opts: SwrkOptions = {}): Promise<CriuResp> {
  const pair = addon().seqpacketPair();
  if (!Array.isArray(pair)) throw new TsociError(`criu: ${pair.error}`);
  const [ours, theirs] = pair;
  let child: ReturnType<ReturnType<typeof childProcess>['spawn']>;
  try {
    child = childProcess().spawn(binary, ['swrk', '3'], {
      stdio: [...(opts.stdio ?? ['ignore', 'ignore', 'inherit']), theirs, ...(opts.extraFds ?? [])],
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
  } catch (err) {
    fs.closeSync(ours);
    throw new TsociError(`start ${binary}: ${(err as Error).message}`);
  } finally {
    fs.closeSync(theirs);
  }
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.on('error', () => resolve({ code: 127, signal: null }));
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  const kind = REQ_TYPE_NAMES[request.type] ?? String(request.type);
  let answered = false;
  try {
    if (!child.pid) throw new TsociError(`start ${binary}: no such file or directory`);
    await opts.onSpawned?.(child.pid);
    send(ours, request);
    for (;;) {
      const got = addon().seqpacketRecv(ours, -1);
      if ('errno' in got) throw new TsociError(`criu ${kind}: ${got.error}`);
      if (got.data.length === 0) throw new CriuFailure(`criu ${kind}: criu exited without an answer`);
      const resp = decodeResp(got.data);
      if (resp.type === ReqType.NOTIFY && resp.success) {
        try {
          await opts.onNotify?.({ script: resp.notify?.script ?? '', pid: resp.notify?.pid ?? 0, fd: got.fd });
        } finally {
          if (got.fd >= 0) fs.closeSync(got.fd);
        }
        send(ours, { type: ReqType.NOTIFY, notifySuccess: true });
        continue;
      }
      if (got.fd >= 0) fs.closeSync(got.fd);
      if (!resp.success) {
        const errno = resp.crErrno ? `: ${errnoName(resp.crErrno)}` : '';
        throw new CriuFailure(`criu ${kind} failed${errno}`);
      }
      answered = true;
      return resp;
    }
  } finally {
    fs.closeSync(ours);
    if (!answered && child.exitCode === null) child.kill('SIGKILL');
    const status = await exited;
    // after PRE_DUMP CRIU waits for a next request and exits on EOF: any status will do
    if (answered && request.type !== ReqType.PRE_DUMP && status.code !== 0) {
      // eslint-disable-next-line no-unsafe-finally
      throw new CriuFailure(`criu ${kind}: criu exited with ${status.signal ?? `status ${status.code}`}`);
    }
  }
}

function send(fd: number, request: CriuReq): void {
  const rc = addon().seqpacketSend(fd, encodeReq(request));
  if (rc !== 0) throw new TsociError(`criu: send request: ${errnoName(rc)}`);
}

/** CRIU's version over RPC, refused below CRIU_MIN_VERSION. */
export async function checkVersion(binary: string): Promise<string> {
  let resp: CriuResp;
  try {
    resp = await swrk(binary, { type: ReqType.VERSION });
  } catch (err) {
    throw new TsociError(`criu ${binary}: cannot get its version (${(err as Error).message}): checkpoint/restore needs criu ${CRIU_MIN_VERSION.join('.')} or later`);
  }
  const v = resp.version;
  const numbers = v ? [v.majorNumber, v.minorNumber, v.sublevel ?? 0] : [0, 0, 0];
  const text = numbers.join('.');
  if (compareVersions(numbers, CRIU_MIN_VERSION) < 0) {
    throw new TsociError(`criu ${binary} is version ${text}: checkpoint/restore needs criu ${CRIU_MIN_VERSION.join('.')} or later (scripts/build-criu.sh builds one)`);
  }
  return text;
}

/** Asks CRIU whether the kernel has what a feature needs (dirty memory tracking, lazy pages). */
export async function checkFeatures(binary: string, wanted: { memTrack?: boolean; lazyPages?: boolean }): Promise<void> {
  const resp = await swrk(binary, { type: ReqType.FEATURE_CHECK, features: wanted });
  const missing: string[] = [];
  if (wanted.memTrack && !resp.features?.memTrack) missing.push('dirty memory tracking (pre-dump, --parent-path)');
  if (wanted.lazyPages && !resp.features?.lazyPages) missing.push('lazy pages (userfaultfd)');
  if (missing.length) throw new TsociError(`criu is missing features on this host: ${missing.join(', ')}`);
}
