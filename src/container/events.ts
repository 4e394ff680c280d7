import { cgroupStatsJSON, type CgroupPaths } from '../cgroups';
import { cgReadOpt } from '../cgroups/files';
import { isV1Paths } from '../cgroups/manage';
import { ContainerDir, liveStatus, openContainer } from '../state/store';
import { checkId } from '../state/paths';
import { TsociError } from '../util/errors';
import type { GlobalOptions } from './options';

export interface EventsOptions extends GlobalOptions {
  id: string;
  /** print one stats event and return */
  stats?: boolean;
  /** stats interval in milliseconds (runc's default 5s) */
  intervalMs?: number;
  /** how often the OOM counter is read (ms); tests may shorten it */
  oomPollMs?: number;
}

/** One event line as runc prints it: {"type":…,"id":…,"data":…} ("data" left out when empty). */
export function eventLine(type: string, id: string, dataJSON?: string): string {
  return `{"type":${JSON.stringify(type)},"id":${JSON.stringify(id)}${dataJSON ? `,"data":${dataJSON}` : ''}}\n`;
}

function statsLine(id: string, paths: CgroupPaths | undefined): string {
  return eventLine('stats', id, paths && Object.keys(paths).length > 0 ? cgroupStatsJSON(paths) : undefined);
}

/**
 * The OOM state of the container's memory cgroup: the kernel's oom_kill counter (v1
 * memory.oom_control, v2 memory.events) and whether it is under OOM right now (v1).
 */
export function oomCounters(paths: CgroupPaths): { kills: number; under: boolean } | undefined {
  const v1 = isV1Paths(paths);
  const dir = v1 ? paths.memory : paths[''];
  if (!dir) return undefined;
  const text = cgReadOpt(dir, v1 ? 'memory.oom_control' : 'memory.events');
  if (text === undefined) return undefined;
  const kills = /^oom_kill (\d+)$/m.exec(text);
  const under = /^under_oom (\d+)$/m.exec(text);
  const oom = /^oom (\d+)$/m.exec(text);
  return { kills: Number(kills?.[1] ?? oom?.[1] ?? 0), under: under?.[1] === '1' };
}

/** An OOM happened between two readings (a kill, or, with the OOM killer disabled, entering OOM). */
export function oomHappened(before: { kills: number; under: boolean } | undefined, now: { kills: number; under: boolean } | undefined): boolean {
  if (!now) return false;
  if (now.kills > (before?.kills ?? 0)) return true;
  return now.under && !before?.under;
}

function stillThere(cdir: ContainerDir): boolean {
  try {
    return liveStatus(cdir, cdir.read()) !== 'stopped';
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `events`: with `stats`, one stats event; otherwise a stats event every interval and an
 * "oom" event whenever the memory cgroup reports an OOM, until the container stops (or is
 * deleted). The first stats event comes one interval after the start, as with runc.
 */
export async function events(opts: EventsOptions, emit: (line: string) => void): Promise<void> {
  checkId(opts.id);
  const interval = opts.intervalMs ?? 5000;
  if (!(interval > 0)) throw new TsociError('duration interval must be greater than 0');
  const { cdir, state } = openContainer(opts.root, opts.id);
  if (liveStatus(cdir, state) === 'stopped') throw new TsociError(`container with id ${opts.id} is not running`);
  const paths = state.cgroupPaths;
  if (opts.stats) {
    emit(statsLine(opts.id, paths));
    return;
  }
  const poll = Math.max(10, Math.min(opts.oomPollMs ?? 100, interval));
  let last = paths ? oomCounters(paths) : undefined;
  const checkOom = () => {
    if (!paths) return;
    const now = oomCounters(paths);
    if (oomHappened(last, now)) emit(eventLine('oom', opts.id));
    if (now) last = now;
  };
  let nextStats = Date.now() + interval;
  for (;;) {
    await sleep(Math.max(0, Math.min(poll, nextStats - Date.now())));
    checkOom();
    if (!stillThere(cdir)) {
      checkOom();
      return;
    }
    if (Date.now() >= nextStats) {
      emit(statsLine(opts.id, paths));
      nextStats += interval;
      if (nextStats < Date.now()) nextStats = Date.now() + interval;
    }
  }
}
