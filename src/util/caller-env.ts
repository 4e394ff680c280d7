/**
 * The launcher (bin/tsoci) hands Node the caller's NODE_EXTRA_CA_CERTS as a record
 * (launcher-records.ts): Node would otherwise load those certificates at start-up (~50 ms with
 * Debian's bundle), and tsoci makes no TLS connection. Put back at once, so that what tsoci
 * starts (ip, criu, umount, ps) has the caller's environment.
 */
import { CALLER_NODE_EXTRA_CA_CERTS, takeLauncherRecord } from './launcher-records';

export function restoreCallerEnv(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): void {
  const value = takeLauncherRecord(env, CALLER_NODE_EXTRA_CA_CERTS, pid);
  if (value !== undefined && env.NODE_EXTRA_CA_CERTS === undefined) env.NODE_EXTRA_CA_CERTS = value;
}
