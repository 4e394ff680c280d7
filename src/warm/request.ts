/**
 * A launcher's request (cpp/common/warm_protocol.h) and whether this worker may serve it:
 * only a caller that a cold tsoci would treat exactly alike — same uid, same build, same
 * namespaces and root, a command that needs nothing of the caller's process but what the
 * launcher provides, and nothing in its environment that the worker read when it loaded.
 */
import * as fs from 'fs';

export interface WarmRequest {
  buildId: string;
  cwd: string;
  umask: number;
  /** the caller-fd record, "<launcher pid>:<ranges>" */
  fdRecord: string;
  /** the arguments after argv[0] */
  args: string[];
  env: Record<string, string>;
}

/** Commands served warm (the contract). checkpoint/restore: CRIU's restored tree must be the caller's child. */
const SERVED = new Set(['state', 'start', 'kill', 'delete', 'create', 'run', 'exec', 'list', 'ps', 'pause', 'resume', 'update', 'events', 'spec', 'features']);
/** runc's global flags that take a value (as the launcher skips them: cpp/launcher/warm_client.cc) */
const WITH_VALUE = new Set(['--root', '--log', '--log-format', '--criu', '--rootless']);
/** read once when the bundle loads (util/fault, util/trace, state/store) or by Node itself */
const READ_AT_LOAD = ['TSOCI_FAULT', 'TSOCI_TRACE', 'TSOCI_LOCK_TIMEOUT_MS', 'NODE_OPTIONS'];
const NAMESPACES = ['mnt', 'pid', 'user', 'net', 'cgroup'];
/** what the kernel lets a process do, from /proc/<pid>/status: a caller with less goes cold */
const CREDENTIALS = ['Uid', 'Gid', 'Groups', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp'];
export const GAVE_UP = 'the caller gave up before the worker accepted';

export function parseRequest(body: Buffer): WarmRequest | string {
  const parts = body.toString('utf8').split('\0');
  if (parts.pop() !== '') return 'malformed request';
  const [buildId, cwd, umask, fdRecord, argc] = parts;
  const n = Number(argc);
  if (parts.length < 5 || !/^[0-7]{1,4}$/.test(umask) || !Number.isInteger(n) || n < 0 || parts.length < 5 + n) return 'malformed request';
  const env: Record<string, string> = {};
  for (const entry of parts.slice(5 + n)) {
    const eq = entry.indexOf('=');
    if (eq > 0 && !(entry.slice(0, eq) in env)) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { buildId, cwd, umask: parseInt(umask, 8), fdRecord, args: parts.slice(5, 5 + n), env };
}

/** The command word: the first argument that is not a global flag or its value. */
export function commandWord(args: string[]): string {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('-')) return a;
    if (!a.includes('=') && WITH_VALUE.has(a)) i++;
  }
  return '';
}

function statusFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

function sameFile(a: string, b: string): boolean {
  const x = fs.statSync(a);
  const y = fs.statSync(b);
  return x.dev === y.dev && x.ino === y.ino;
}

/** Why this worker must not serve the request (the launcher then goes cold), or undefined. */
export function refusal(req: WarmRequest, peer: { pid: number; uid: number }, buildId: string): string | undefined {
  if (peer.uid !== process.geteuid?.()) return `caller uid ${peer.uid} is not ours`;
  if (req.buildId !== buildId) return `build mismatch (caller ${req.buildId}, worker ${buildId})`;
  if (peer.pid <= 0) return 'caller in another pid namespace';
  try {
    for (const ns of NAMESPACES) if (!sameFile(`/proc/${peer.pid}/ns/${ns}`, `/proc/self/ns/${ns}`)) return `caller in another ${ns} namespace`;
    if (!sameFile(`/proc/${peer.pid}/root`, '/')) return 'caller has another root';
    const theirs = statusFields(fs.readFileSync(`/proc/${peer.pid}/status`, 'utf8'));
    const ours = statusFields(fs.readFileSync('/proc/self/status', 'utf8'));
    for (const name of CREDENTIALS) if (theirs.get(name) !== ours.get(name)) return `caller has other credentials (${name})`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return GAVE_UP; // it exited: it went cold
    return `inspect the caller (/proc/${peer.pid}): ${code ?? String(err)}`;
  }
  const word = commandWord(req.args);
  if (word !== '' && !SERVED.has(word)) return `command ${word} is not served warm`;
  for (const name of READ_AT_LOAD) if (req.env[name] !== process.env[name]) return `${name} differs from the worker's`;
  return undefined;
}
