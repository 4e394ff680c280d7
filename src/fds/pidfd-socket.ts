import * as path from 'path';
import { native } from '../native';
import { TsociError } from '../util/errors';

/**
 * runc's --pidfd-socket: a pidfd of the container's (or exec'd) process goes over a
 * connection to this unix socket, so its receiver can signal that very process (a pid
 * could be reused).
 */
export function sendPidfd(socketPath: string, pid: number): void {
  const r = native().pidfdSend(path.resolve(socketPath), pid);
  if (r !== 0) throw new TsociError(`pidfd socket: ${r.error}`, String(r.errno));
}
