import * as fs from 'fs';
import { cgroupHost, updateCgroups, updateSystemdScope } from '../cgroups';
import type { LinuxResources, Spec } from '../spec/types';
import { validateResources } from '../spec/validate';
import { liveStatus, openContainer, type ContainerDir } from '../state/store';
import { checkId } from '../state/paths';
import { TsociError, sysError } from '../util/errors';
import type { GlobalOptions } from './options';
import { writeErr } from '../util/out';

type Resources = LinuxResources;
type ThrottleDevice = { major: number; minor: number; rate: number };
type WeightDevice = { major: number; minor: number; weight?: number; leafWeight?: number };

export interface UpdateOptions extends GlobalOptions {
  id: string;
  /** a LinuxResources document (from --resources, or built from the per-knob flags) */
  resources: Resources;
  l3CacheSchema?: string;
  memBwSchema?: string;
}

const isSet = (v: unknown) => v !== undefined && v !== null;

function upsertThrottle(list: ThrottleDevice[] | undefined, add: ThrottleDevice[] | undefined): ThrottleDevice[] | undefined {
  if (!add || add.length === 0) return list;
  const out = [...(list ?? [])].map((d) => ({ ...d }));
  for (const td of add) {
    const i = out.map((d) => d.major === td.major && d.minor === td.minor).lastIndexOf(true);
    if (i >= 0) out[i].rate = td.rate;
    else out.push({ major: td.major, minor: td.minor, rate: td.rate });
  }
  return out;
}

function upsertWeight(list: WeightDevice[] | undefined, add: WeightDevice[] | undefined): WeightDevice[] | undefined {
  if (!add || add.length === 0) return list;
  const out = [...(list ?? [])].map((d) => ({ ...d }));
  for (const wd of add) {
    const i = out.map((d) => d.major === wd.major && d.minor === wd.minor).lastIndexOf(true);
    if (i >= 0) {
      if (isSet(wd.weight)) out[i].weight = wd.weight;
      if (isSet(wd.leafWeight)) out[i].leafWeight = wd.leafWeight;
    } else {
      out.push({ major: wd.major, minor: wd.minor, weight: wd.weight ?? 0, leafWeight: wd.leafWeight ?? 0 });
    }
  }
  return out;
}

/**
 * The container's resources after an update, with runc's update semantics: only the
 * memory, cpu, blockIO, pids and unified settings change; a field left out keeps its old
 * value; devices, hugepage, network and rdma limits cannot be updated. CPU quota and period
 * given alone keep the other at its old value; memory limit -1 without swap means
 * unlimited swap too; cpu idle without shares resets shares.
 */
export function mergeResources(old: Resources | undefined, r: Resources): Resources {
  const out: Resources = JSON.parse(JSON.stringify(old ?? {}));
  const m = r.memory;
  if (m) {
    const mem = (out.memory ??= {});
    for (const k of ['limit', 'reservation', 'swap'] as const) if (isSet(m[k])) mem[k] = m[k];
    if (m.limit === -1 && !isSet(m.swap)) mem.swap = 0;
  }
  // like runc, checkBeforeUpdate is taken from the request only (off unless asked for)
  if (out.memory) {
    if (isSet(m?.checkBeforeUpdate)) out.memory.checkBeforeUpdate = m!.checkBeforeUpdate;
    else delete out.memory.checkBeforeUpdate;
  }
  const c = r.cpu;
  if (c) {
    const cpu = (out.cpu ??= {});
    const p = c.period ?? 0;
    const q = c.quota ?? 0;
    if ((p === 0 && q === 0) || (p !== 0 && q !== 0)) {
      if (isSet(c.period) || isSet(c.quota)) {
        cpu.period = p;
        cpu.quota = q;
      }
    } else if (p !== 0) cpu.period = p;
    else cpu.quota = q;
    for (const k of ['burst', 'shares', 'realtimePeriod', 'realtimeRuntime', 'idle'] as const) if (isSet(c[k])) (cpu as Record<string, unknown>)[k] = c[k];
    if (isSet(c.idle) && !isSet(c.shares)) cpu.shares = 0;
    if (c.cpus) cpu.cpus = c.cpus;
    if (c.mems) cpu.mems = c.mems;
  }
  const b = r.blockIO;
  if (b) {
    const bio = (out.blockIO ??= {}) as Record<string, unknown>;
    if (isSet(b.weight)) bio.weight = b.weight;
    if (isSet(b.leafWeight)) bio.leafWeight = b.leafWeight;
    const w = upsertWeight(bio.weightDevice as WeightDevice[] | undefined, b.weightDevice as WeightDevice[] | undefined);
    if (w) bio.weightDevice = w;
    for (const k of ['throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice'] as const) {
      const t = upsertThrottle(bio[k] as ThrottleDevice[] | undefined, b[k] as ThrottleDevice[] | undefined);
      if (t) bio[k] = t;
    }
  }
  if (r.pids && isSet(r.pids.limit)) out.pids = { ...(out.pids ?? {}), limit: r.pids.limit } as Resources['pids'];
  if (r.unified && Object.keys(r.unified).length > 0) out.unified = { ...(out.unified ?? {}), ...r.unified };
  return out;
}

/** What is written to cgroupfs: everything but the device rules (update never touches them). */
function applicable(r: Resources): Resources {
  const { devices: _devices, ...rest } = r;
  return rest;
}

function readSpec(cdir: ContainerDir): Spec | undefined {
  try {
    return JSON.parse(fs.readFileSync(cdir.specPath, 'utf8')) as Spec;
  } catch {
    return undefined;
  }
}

function writeSpec(cdir: ContainerDir, spec: Spec): void {
  const tmp = `${cdir.specPath}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, JSON.stringify(spec), { mode: 0o600 });
    fs.renameSync(tmp, cdir.specPath);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw sysError('write', cdir.specPath, err);
  }
}

function resctrlMounted(): boolean {
  try {
    return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => / - resctrl /.test(l));
  } catch {
    return false;
  }
}

/**
 * `update`: apply new resource limits to a created, running or paused container and keep
 * them in the stored spec copy (<root>/<id>/config.json), so later updates merge with them.
 * On a failed write the previous limits are re-applied (best effort), like runc. With the
 * systemd driver the unit's properties are set too (SetUnitProperties, then the files).
 */
export async function update(opts: UpdateOptions): Promise<Resources> {
  checkId(opts.id);
  const errors = validateResources(opts.resources);
  if (errors.length > 0) throw new TsociError(`invalid resources: ${errors.join('; ')}`);
  const { cdir, state } = openContainer(opts.root, opts.id);
  cdir.lock();
  try {
    if (liveStatus(cdir, state) === 'stopped') throw new TsociError('container not running');
    if (opts.l3CacheSchema || opts.memBwSchema) {
      if (!resctrlMounted()) {
        throw new TsociError(opts.l3CacheSchema ? 'Intel RDT/CAT: l3 cache schema is not enabled' : 'Intel RDT/MBA: memory bandwidth schema is not enabled');
      }
      const spec = readSpec(cdir);
      if (!spec?.linux?.intelRdt) throw new TsociError('updating a non-existent Intel RDT configuration is not supported');
      throw new TsociError('Intel RDT: updating schemata is not supported by tsoci');
    }
    const paths = state.cgroupPaths;
    if (!paths || Object.keys(paths).length === 0) throw new TsociError('cgroup: cannot update resources: the container has no cgroup');
    const spec = readSpec(cdir);
    const old = spec?.linux?.resources;
    const merged = mergeResources(old, opts.resources);
    // systemd driver: the unit's properties first (SetUnitProperties), then the files
    const set = async (r: Resources) => updateCgroups(paths, state.systemdUnit ? await updateSystemdScope(cgroupHost(), state.systemdUnit, r) : r);
    try {
      await set(applicable(merged));
    } catch (err) {
      try {
        await set(applicable(old ?? {}));
      } catch {
        writeErr('warning: setting back the previous cgroup configuration failed; the stored and the actual limits may differ\n');
      }
      throw err;
    }
    if (spec) {
      spec.linux = { ...(spec.linux ?? {}), resources: merged };
      writeSpec(cdir, spec);
    }
    return merged;
  } finally {
    cdir.release();
  }
}
