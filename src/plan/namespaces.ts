import * as path from 'path';
import type { Spec, LinuxNamespace } from '../spec/types';
import type { IdMapping, LaunchPlan, NamespaceType, PlannedNamespace } from './launch-plan';
import type { PlanOptions } from './options';
import { TsociError } from '../util/errors';
import { copyIdMappings, needsSetgroupsDeny } from './idmap';

/**
 * Order in which namespaces are listed in the plan: user first (it owns the others),
 * mount last (joining it by path changes what later paths resolve to; tsoci-init should
 * still open every path before the first setns).
 */
export const NAMESPACE_ORDER: readonly NamespaceType[] = ['user', 'pid', 'ipc', 'uts', 'network', 'cgroup', 'time', 'mount'];

/** runtime-spec namespace type → name under /proc/<pid>/ns/ */
export const NS_PROC_NAME: Readonly<Record<NamespaceType, string>> = Object.freeze({
  user: 'user',
  pid: 'pid',
  network: 'net',
  ipc: 'ipc',
  uts: 'uts',
  mount: 'mnt',
  cgroup: 'cgroup',
  time: 'time',
});

function isNamespaceType(t: unknown): t is NamespaceType {
  return typeof t === 'string' && Object.prototype.hasOwnProperty.call(NS_PROC_NAME, t);
}

/**
 * Check linux.namespaces (known types, no duplicates, absolute paths) and return them in
 * NAMESPACE_ORDER. An empty path means "create".
 */
export function orderedNamespaces(list: readonly LinuxNamespace[] | undefined): PlannedNamespace[] {
  const byType = new Map<NamespaceType, PlannedNamespace>();
  (list ?? []).forEach((ns, i) => {
    const f = `linux.namespaces[${i}]`;
    if (!isNamespaceType(ns.type)) throw new TsociError(`${f}.type: unknown namespace type ${JSON.stringify(ns.type)}`);
    if (byType.has(ns.type)) throw new TsociError(`${f}.type: duplicated namespace ${JSON.stringify(ns.type)}`);
    const p: PlannedNamespace = { type: ns.type };
    if (ns.path !== undefined && ns.path !== '') {
      if (!path.posix.isAbsolute(ns.path)) {
        throw new TsociError(`${f}.path: namespace path must be absolute (got ${JSON.stringify(ns.path)})`);
      }
      if (ns.path.includes('\0')) throw new TsociError(`${f}.path: contains a null byte`);
      p.path = ns.path;
    }
    byType.set(ns.type, p);
  });
  return NAMESPACE_ORDER.filter((t) => byType.has(t)).map((t) => byType.get(t)!);
}

/** Facts about the container's namespaces the other planners need. */
export interface NamespaceFacts {
  /** namespace type present (created or joined) */
  has(t: NamespaceType): boolean;
  /** namespace type present without a path: a new one is created */
  creates(t: NamespaceType): boolean;
  /** namespace type joined by path */
  joins(t: NamespaceType): boolean;
}

export function namespaceFacts(namespaces: readonly PlannedNamespace[]): NamespaceFacts {
  const find = (t: NamespaceType) => namespaces.find((n) => n.type === t);
  return {
    has: (t) => find(t) !== undefined,
    creates: (t) => {
      const n = find(t);
      return n !== undefined && n.path === undefined;
    },
    joins: (t) => find(t)?.path !== undefined,
  };
}

type NamespacePart = Pick<
  LaunchPlan,
  'namespaces' | 'uidMappings' | 'gidMappings' | 'setgroupsDeny' | 'timeOffsets' | 'hostname' | 'domainname'
>;

const TIME_CLOCKS = ['monotonic', 'boottime'] as const;

function planTimeOffsets(spec: Spec, facts: NamespaceFacts, opts: PlanOptions): LaunchPlan['timeOffsets'] {
  const offsets = spec.linux?.timeOffsets;
  if (facts.has('time') && opts.hostHasTimeNs === false) {
    throw new TsociError("linux.namespaces: time namespaces aren't enabled in the kernel");
  }
  if (offsets === undefined || offsets === null) return [];
  if (!facts.has('time')) {
    throw new TsociError("linux.timeOffsets: time namespace offsets specified, but time namespace isn't enabled in the config");
  }
  if (facts.joins('time')) {
    throw new TsociError('linux.timeOffsets: time namespace is joined by path, offsets cannot be set as well');
  }
  const out: LaunchPlan['timeOffsets'] = [];
  for (const [clock, v] of Object.entries(offsets)) {
    const f = `linux.timeOffsets.${clock}`;
    if (!(TIME_CLOCKS as readonly string[]).includes(clock)) {
      throw new TsociError(`${f}: unknown clock ${JSON.stringify(clock)} (expected monotonic or boottime)`);
    }
    const secs = v?.secs ?? 0;
    const nanosecs = v?.nanosecs ?? 0;
    if (!Number.isInteger(secs)) throw new TsociError(`${f}.secs: must be an integer`);
    if (!Number.isInteger(nanosecs) || nanosecs < 0 || nanosecs > 999999999) {
      throw new TsociError(`${f}.nanosecs: must be an integer between 0 and 999999999`);
    }
    out.push({ clock: clock as 'monotonic' | 'boottime', secs, nanosecs });
  }
  return out;
}

/** Namespaces, id maps, time offsets and UTS names of a new container (create mode). */
export function planNamespaces(spec: Spec, opts: PlanOptions): NamespacePart {
  const namespaces = orderedNamespaces(spec.linux?.namespaces);
  const facts = namespaceFacts(namespaces);

  const uidSpec = spec.linux?.uidMappings;
  const gidSpec = spec.linux?.gidMappings;
  let uidMappings: IdMapping[] = copyIdMappings(uidSpec, 'linux.uidMappings');
  let gidMappings: IdMapping[] = copyIdMappings(gidSpec, 'linux.gidMappings');
  if (facts.creates('user')) {
    if (uidMappings.length === 0 || gidMappings.length === 0) {
      throw new TsociError(
        'linux.uidMappings: user namespace enabled, but no namespace path to join nor mappings to apply specified',
      );
    }
  } else if (facts.joins('user')) {
    // the joined namespace already has its maps; nothing is written
    uidMappings = [];
    gidMappings = [];
  } else if (uidMappings.length > 0 || gidMappings.length > 0) {
    throw new TsociError("linux.uidMappings: user namespace mappings specified, but user namespace isn't enabled in the config");
  }

  const hostname = spec.hostname;
  const domainname = spec.domainname;
  if (hostname !== undefined && hostname !== '' && !facts.has('uts')) {
    throw new TsociError('hostname: unable to set hostname without a private UTS namespace');
  }
  if (domainname !== undefined && domainname !== '' && !facts.has('uts')) {
    throw new TsociError('domainname: unable to set domainname without a private UTS namespace');
  }

  const part: NamespacePart = {
    namespaces,
    uidMappings,
    gidMappings,
    setgroupsDeny: facts.creates('user') && needsSetgroupsDeny(opts.rootless, gidMappings),
    timeOffsets: planTimeOffsets(spec, facts, opts),
  };
  if (facts.has('uts')) {
    if (hostname !== undefined) part.hostname = hostname;
    if (domainname !== undefined) part.domainname = domainname;
  }
  return part;
}

/**
 * Exec mode: join every namespace the container has (created or joined at create time)
 * through the container init's /proc/<pid>/ns/<name>.
 */
export function execNamespaces(spec: Spec, pid: number): PlannedNamespace[] {
  if (!Number.isInteger(pid) || pid <= 0) throw new TsociError(`execTargetPid: invalid pid ${JSON.stringify(pid)}`);
  return orderedNamespaces(spec.linux?.namespaces).map((ns) => ({
    type: ns.type,
    path: `/proc/${pid}/ns/${NS_PROC_NAME[ns.type]}`,
  }));
}
