import { constants } from 'os';

/**
 * What foreground run/exec pass on to the container process: every catchable signal Node
 * can listen for, except SIGPROF (Node's own profiler uses it).
 */
export const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2',
  'SIGWINCH', 'SIGCONT', 'SIGALRM', 'SIGPIPE', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGURG', 'SIGVTALRM',
  'SIGXCPU', 'SIGXFSZ', 'SIGIO', 'SIGPWR', 'SIGSYS', 'SIGTRAP', 'SIGABRT'];

export function signalNumber(sig: NodeJS.Signals): number {
  return constants.signals[sig];
}
