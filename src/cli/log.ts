import * as fs from 'fs';
import { writeErr } from '../util/out';

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

export function logDebug(msg: string): void {
  if (process.env.TSOCI_DEBUG || debugEnabled) writeLogLine('debug', msg);
}

let debugEnabled = false;
export function enableDebug(): void {
  debugEnabled = true;
}

function writeLogLine(level: string, msg: string): void {
  if (!target.file) {
    if (level === 'debug') writeErr(`debug: ${msg}\n`);
    return;
  }
  const time = new Date().toISOString();
  const line = target.format === 'json'
    ? JSON.stringify({ level, msg, time })
    : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
  try {
    fs.appendFileSync(target.file, line + '\n');
  } catch {
    /* the log is best effort; the error is on stderr */
  }
}
