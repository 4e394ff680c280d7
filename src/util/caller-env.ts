/**
 * The launcher (bin/tsoci) hands Node the caller's NODE_EXTRA_CA_CERTS as
 * TSOCI_CALLER_NODE_EXTRA_CA_CERTS=<pid>:<value>: Node would otherwise load those certificates
 * at start-up (~50 ms with Debian's bundle), and tsoci makes no TLS connection. Put back at
 * once, so that what tsoci starts (hooks, criu, a warm pool) has the caller's environment.
 * The record counts only when <pid> is ours (the launcher exec'd this process), and is never
 * passed on.
 */
const RECORD = 'TSOCI_CALLER_NODE_EXTRA_CA_CERTS';

export function restoreCallerEnv(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): void {
  const value = env[RECORD];
  if (value === undefined) return;
  delete env[RECORD];
  const colon = value.indexOf(':');
  if (colon < 0 || value.slice(0, colon) !== String(pid)) return;
  if (env.NODE_EXTRA_CA_CERTS === undefined) env.NODE_EXTRA_CA_CERTS = value.slice(colon + 1);
}
