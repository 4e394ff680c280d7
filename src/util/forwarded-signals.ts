import { constants } from 'os';

/**
 * What foreground run/exec pass on to the container process: every catchable signal Node
 * can listen for, except SIGPROF (Node's own profiler uses it) and SIGPIPE/SIGXFSZ: those
 * are the runtime's own I/O errors, which Node ignores — and removing the last listener
 * of a signal resets it to SIG_DFL, so a later EPIPE (a poststop hook that does not read
 * its stdin) would kill tsoci.
 */
export const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2',
  'SIGWINCH', 'SIGCONT', 'SIGALRM', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGURG', 'SIGVTALRM',
  'SIGXCPU', 'SIGIO', 'SIGPWR', 'SIGSYS', 'SIGTRAP', 'SIGABRT'];

export function signalNumber(sig: NodeJS.Signals): number {
  return constants.signals[sig];
}
