import * as fs from 'fs';
import { writeErr } from './out';

export interface LogTarget {
  file?: string;
  format: 'text' | 'json';
}

let target: LogTarget = { format: 'text' };

export function configureLog(t: LogTarget): void {
  target = t;
}

/**
 * An error goes to stderr and, with --log, to the log file as one line: JSON
 * (`{"level":"error","msg":…,"time":…}`, what containerd and podman parse) or logfmt text.
 */
export function logError(msg: string): void {
  // one line, whatever the message quotes (a config value, an id with a newline in it); no
  // "tsoci:" prefix, as runc prints its errors: clients that relay stderr (conmon, podman)
  // add the runtime's name themselves
  writeErr(`${msg.replace(/[\r\n]/g, (c) => (c === '\n' ? '\\n' : '\\r'))}\n`);
  writeLogLine('error', msg);
}

/**
 * A warning in runc's (logrus's) form: to the --log file when there is one, else to stderr
 * (`time="…" level=warning msg="…"`), as runc writes it; the operation goes on.
 */
export function logWarning(msg: string): void {
  if (target.file) writeLogLine('warning', msg);
  else writeErr(formatLine('warning', msg) + '\n');
}

export function logDebug(msg: string): void {
  if (process.env.TSOCI_DEBUG || debugEnabled) writeLogLine('debug', msg);
}

let debugEnabled = false;
export function enableDebug(): void {
  debugEnabled = true;
}

/** Where tsoci-init writes its own debug lines (plan.debugLog): undefined unless debugging. */
export function debugLogTarget(): { file?: string; format: 'text' | 'json' } | undefined {
  if (!process.env.TSOCI_DEBUG && !debugEnabled) return undefined;
  return target.file ? { file: target.file, format: target.format } : { format: target.format };
}

/** runc's (logrus's) line: `time="…" level=debug msg="…"`, or JSON with --log-format json. */
function formatLine(level: string, msg: string): string {
  const time = new Date().toISOString();
  return target.format === 'json'
    ? JSON.stringify({ level, msg, time })
    : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
}

function writeLogLine(level: string, msg: string): void {
  if (!target.file) {
    // errors are on stderr already (as "tsoci: …"); debug lines go there in the log's form
    if (level === 'debug') writeErr(formatLine(level, msg) + '\n');
    return;
  }
  try {
    fs.appendFileSync(target.file, formatLine(level, msg) + '\n');
  } catch {
    /* the log is best effort; the error is on stderr */
  }
}
