import { writeErr } from './out';

// TSOCI_TRACE=1 prints the time since the process started at each named step, for the
// benchmark's breakdown of where a command spends its time. Off by default: one env lookup.
const enabled = !!process.env.TSOCI_TRACE;
if (enabled) process.on('exit', () => trace('exit'));

export function trace(step: string): void {
  if (enabled) writeErr(`tsoci-trace ${performance.now().toFixed(1)} ${step}\n`);
}
