/**
 * The kernel raises an ambient capability only when it is also permitted and inheritable
 * (prctl(2) PR_CAP_AMBIENT_RAISE, else EPERM). tsoci-init skips such a capability, like
 * runc; these are the warnings runc logs for it ("can't raise ambient capability ...").
 */
import type { Process } from '../spec/types';

export function ambientCapabilityWarnings(p: Process | undefined): string[] {
  const caps = p?.capabilities;
  if (!caps?.ambient?.length) return [];
  const inheritable = new Set(caps.inheritable ?? []);
  const permitted = new Set(caps.permitted ?? []);
  return [...new Set(caps.ambient)]
    .filter((c) => !inheritable.has(c) || !permitted.has(c))
    .map((c) => `can't raise ambient capability ${c}: operation not permitted`);
}
