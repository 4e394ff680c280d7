/**
 * What the launcher (bin/tsoci, cpp/launcher/main.cc) hands the Node it execs, as
 * environment records NAME=<pid>:<value>. The exec keeps the pid, so a record counts only
 * when it names this process; a stale or forged one (exported by a caller) does not.
 */
export const CALLER_FDS = 'TSOCI_CALLER_FDS';
export const CALLER_NOFILE = 'TSOCI_CALLER_NOFILE';
export const CALLER_NODE_EXTRA_CA_CERTS = 'TSOCI_CALLER_NODE_EXTRA_CA_CERTS';
export const LAUNCHER_RECORDS = [CALLER_FDS, CALLER_NOFILE, CALLER_NODE_EXTRA_CA_CERTS];

/** Removes the record from env (nothing tsoci starts sees it); its value if it names `pid`. */
export function takeLauncherRecord(env: NodeJS.ProcessEnv, name: string, pid: number): string | undefined {
  const record = env[name];
  delete env[name];
  const colon = record === undefined ? -1 : record.indexOf(':');
  return colon > 0 && record!.slice(0, colon) === String(pid) ? record!.slice(colon + 1) : undefined;
}
