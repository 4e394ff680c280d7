import { constants } from 'os';
import { native } from '../native';

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

/** Forwards FORWARDED_SIGNALS to a process, holding those that arrive before it is known. */
export class SignalForwarder {
  private pid = 0;
  private readonly held: NodeJS.Signals[] = [];
  private readonly handler = (sig: NodeJS.Signals): void => {
    if (this.pid) native().pidfdKill(this.pid, signalNumber(sig));
    else this.held.push(sig);
  };

  constructor() {
    for (const sig of FORWARDED_SIGNALS) process.on(sig, this.handler);
  }

  target(pid: number): void {
    this.pid = pid;
    for (const sig of this.held.splice(0)) this.handler(sig);
  }

  stop(): void {
    for (const sig of FORWARDED_SIGNALS) process.off(sig, this.handler);
  }
}
