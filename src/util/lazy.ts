/**
 * Node built-ins that cost milliseconds to load (child_process ~6 ms, tty ~7 ms) and that
 * the common commands do not need: loaded on first use, so `create` without hooks or a
 * terminal never pays for them. (The bundle allows no dynamic import: plain require.)
 */
import type * as ChildProcess from 'child_process';
import type * as Tty from 'tty';

/* eslint-disable @typescript-eslint/no-var-requires */
export const childProcess = (): typeof ChildProcess => require('child_process') as typeof ChildProcess;
/** tty loads net (~7 ms): only a foreground terminal needs it */
export const tty = (): typeof Tty => require('tty') as typeof Tty;
