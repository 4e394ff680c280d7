/**
 * Checks on a schema-valid config.json that JSON Schema cannot express: cross-field rules
 * of the runtime-spec ("MUST generate an error") and the ones runc's validator enforces,
 * so that a bad bundle fails at `create` with a clear message instead of deep in the init.
 */
import type { Hook, Linux, LinuxNamespaceType, Spec } from './types';

/** The major version tsoci implements; any 1.x config is accepted (as runc does). */
export const SUPPORTED_MAJOR = 1;

/** `unsupported ociVersion "2.0.0": tsoci supports 1.x`, or undefined when supported. */
export function checkOciVersion(version: string): string | undefined {
  const major = Number(/^(\d+)\./.exec(version)?.[1]);
  return major === SUPPORTED_MAJOR ? undefined : `unsupported ociVersion "${version}": tsoci supports ${SUPPORTED_MAJOR}.x`;
}

/** getrlimit(2) resources */
const RLIMIT_TYPES = new Set([
  'RLIMIT_AS', 'RLIMIT_CORE', 'RLIMIT_CPU', 'RLIMIT_DATA', 'RLIMIT_FSIZE', 'RLIMIT_LOCKS',
  'RLIMIT_MEMLOCK', 'RLIMIT_MSGQUEUE', 'RLIMIT_NICE', 'RLIMIT_NOFILE', 'RLIMIT_NPROC',
  'RLIMIT_RSS', 'RLIMIT_RTPRIO', 'RLIMIT_RTTIME', 'RLIMIT_SIGPENDING', 'RLIMIT_STACK',
]);

/** clocks a time namespace can offset (time_namespaces(7)) */
const TIME_NS_CLOCKS = new Set(['monotonic', 'boottime']);

/** IPC-namespaced sysctls besides fs.mqueue.* (the list runc uses) */
const IPC_SYSCTLS = new Set([
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall',
  'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced',
]);

const ERRNO_ACTIONS = new Set(['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE']);

const isAbsolute = (p: string): boolean => p.startsWith('/');

/** Every semantic problem of a schema-valid spec (empty when none). ociVersion is checked separately. */
export function checkSpecSemantics(spec: Spec): string[] {
  const problems: string[] = [];
  checkProcess(spec, problems);
  checkHooks(spec, problems);
  checkMounts(spec, problems);
  if (spec.linux) checkLinux(spec, spec.linux, problems);
  else if (spec.hostname || spec.domainname) {
    // no linux section: no namespaces are created, so the host's UTS namespace would be changed
    problems.push('unable to set hostname or domainname without a private UTS namespace');
  }
  return problems;
}

function checkProcess(spec: Spec, problems: string[]): void {
  const proc = spec.process;
  if (!proc) return;
  if (!isAbsolute(proc.cwd)) problems.push(`process.cwd "${proc.cwd}" must be an absolute path`);
  const seen = new Set<string>();
  for (const r of proc.rlimits ?? []) {
    if (!RLIMIT_TYPES.has(r.type)) problems.push(`process.rlimits: unknown rlimit type "${r.type}"`);
    if (seen.has(r.type)) problems.push(`process.rlimits: duplicate rlimit type "${r.type}"`);
    seen.add(r.type);
    if (r.soft > r.hard) problems.push(`process.rlimits: ${r.type} soft limit ${r.soft} exceeds hard limit ${r.hard}`);
  }
}

const HOOK_KINDS = new Set(['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);

function checkHooks(spec: Spec, problems: string[]): void {
  const kinds = Object.entries(spec.hooks ?? {}) as [string, Hook[] | undefined][];
  for (const [kind, hooks] of kinds) {
    // an unknown key under hooks is ignored like any unknown field (the schema lets it through)
    if (!HOOK_KINDS.has(kind) || !Array.isArray(hooks)) continue;
    hooks.forEach((hook, i) => {
      if (!isAbsolute(hook.path)) problems.push(`hooks.${kind}[${i}].path "${hook.path}" must be an absolute path`);
    });
  }
}

function checkMounts(spec: Spec, problems: string[]): void {
  (spec.mounts ?? []).forEach((m, i) => {
    // relative destinations are deprecated but allowed (resolved against /); empty is not
    if (m.destination === '') problems.push(`mounts[${i}].destination must not be empty`);
    if (!!m.uidMappings !== !!m.gidMappings) {
      problems.push(`mounts[${i}] (${m.destination}): uidMappings and gidMappings must be specified together`);
    }
  });
}

function checkLinux(spec: Spec, linux: Linux, problems: string[]): void {
  const namespaces = new Map<LinuxNamespaceType, string | undefined>(); // type → path
  for (const ns of linux.namespaces ?? []) {
    if (namespaces.has(ns.type)) problems.push(`linux.namespaces: duplicate namespace type "${ns.type}"`);
    // an empty path means "create", as no path does (runc's tests use both)
    namespaces.set(ns.type, ns.path || undefined);
    if (ns.path && !isAbsolute(ns.path)) {
      problems.push(`linux.namespaces: path "${ns.path}" of the ${ns.type} namespace must be an absolute path`);
    }
  }

  checkUserNamespace(linux, namespaces, problems);

  const offsets = Object.keys(linux.timeOffsets ?? {});
  if (offsets.length > 0 && !namespaces.has('time')) problems.push('timeOffsets specified, but time namespace is not enabled');
  for (const clock of offsets) {
    if (!TIME_NS_CLOCKS.has(clock)) problems.push(`linux.timeOffsets: unknown clock "${clock}" (monotonic or boottime)`);
  }

  if ((spec.hostname || spec.domainname) && !namespaces.has('uts')) {
    problems.push('unable to set hostname or domainname without a private UTS namespace');
  }

  for (const name of Object.keys(linux.sysctl ?? {})) {
    const why = sysctlProblem(name, namespaces);
    if (why) problems.push(why);
  }

  for (const [list, paths] of [['maskedPaths', linux.maskedPaths], ['readonlyPaths', linux.readonlyPaths]] as const) {
    for (const p of paths ?? []) if (!isAbsolute(p)) problems.push(`linux.${list}: "${p}" must be an absolute path`);
  }
  for (const d of linux.devices ?? []) {
    if (!isAbsolute(d.path)) problems.push(`linux.devices: "${d.path}" must be an absolute path`);
  }
  (linux.resources?.blockIO?.weightDevice ?? []).forEach((w, i) => {
    if (w.weight === undefined && w.leafWeight === undefined) {
      problems.push(`linux.resources.blockIO.weightDevice[${i}]: needs weight or leafWeight`);
    }
  });

  checkSeccomp(linux, problems);
}

function checkUserNamespace(linux: Linux, namespaces: Map<LinuxNamespaceType, string | undefined>, problems: string[]): void {
  const hasUidMaps = (linux.uidMappings?.length ?? 0) > 0;
  const hasGidMaps = (linux.gidMappings?.length ?? 0) > 0;
  if (!namespaces.has('user')) {
    if (hasUidMaps || hasGidMaps) problems.push("user namespace mappings specified, but user namespace isn't enabled");
    return;
  }
  // a joined user namespace (path) already has its mappings
  if (namespaces.get('user') !== undefined) return;
  if (!hasUidMaps) problems.push('user namespaces enabled, but no uid mappings found');
  if (!hasGidMaps) problems.push('user namespaces enabled, but no gid mappings found');
}

/** runc's rule: a sysctl may only be set inside the namespace that scopes it. */
function sysctlProblem(name: string, namespaces: Map<LinuxNamespaceType, string | undefined>): string | undefined {
  if (IPC_SYSCTLS.has(name) || name.startsWith('fs.mqueue.')) {
    return namespaces.has('ipc') ? undefined : `sysctl "${name}" is not allowed in the host's ipc namespace`;
  }
  if (name.startsWith('net.')) {
    return namespaces.has('network') ? undefined : `sysctl "${name}" is not allowed in the host's network namespace`;
  }
  if (namespaces.has('uts')) {
    if (name === 'kernel.domainname') return undefined;
    if (name === 'kernel.hostname') return 'sysctl "kernel.hostname" is not allowed; use the hostname field instead';
  }
  return `sysctl "${name}" is not in a separate kernel namespace`;
}

function checkSeccomp(linux: Linux, problems: string[]): void {
  const seccomp = linux.seccomp;
  if (!seccomp) return;
  if (seccomp.listenerMetadata !== undefined && !seccomp.listenerPath) {
    problems.push('linux.seccomp: listenerMetadata is set without listenerPath');
  }
  if (seccomp.defaultAction === 'SCMP_ACT_NOTIFY') problems.push('linux.seccomp: SCMP_ACT_NOTIFY cannot be the defaultAction');
  if (seccomp.defaultErrnoRet !== undefined && !ERRNO_ACTIONS.has(seccomp.defaultAction)) {
    problems.push(`linux.seccomp: defaultErrnoRet is set but defaultAction ${seccomp.defaultAction} does not return an errno`);
  }
  (seccomp.syscalls ?? []).forEach((rule, i) => {
    if (rule.errnoRet !== undefined && !ERRNO_ACTIONS.has(rule.action)) {
      problems.push(`linux.seccomp.syscalls[${i}]: errnoRet is set but action ${rule.action} does not return an errno`);
    }
    if (rule.action === 'SCMP_ACT_NOTIFY' && !seccomp.listenerPath) {
      problems.push(`linux.seccomp.syscalls[${i}]: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath`);
    }
  });
}
