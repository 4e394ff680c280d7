/**
 * A device rule's `access`, as runc reads it (its devices.Permissions): only r, w and m mean
 * something and any other letter is ignored ("rwa" is "rw": runc's update.bats sends it), so
 * the cgroup never sees them. An absent or empty access is tsoci's "rwm". The letters come
 * back in rwm order, each once; "" when none is left (the rule grants or denies nothing).
 */
export function deviceAccess(access: string | undefined): string {
  if (access === undefined || access === null || access === '') return 'rwm';
  return ['r', 'w', 'm'].filter((c) => access.includes(c)).join('');
}

/** A b/c rule left with no access changes nothing; an "a" rule ignores its access anyway. */
export function deviceRuleMatters(r: { type?: string; access?: string }): boolean {
  return (r.type ?? 'a') === 'a' || deviceAccess(r.access) !== '';
}
