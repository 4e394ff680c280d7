/**
 * linux.intelRdt through the resctrl file system (/sys/fs/resctrl):
 *  - the container's CLOS group is <resctrl>/<closID> (default: the container id); made when
 *    missing (then its schemata are written: l3CacheSchema, memBwSchema, schemata lines),
 *    joined as it is when it exists (a CLOS shared between containers);
 *  - the container process goes into its tasks; enableMonitoring adds a monitoring group
 *    mon_groups/<id>;
 *  - what was made is recorded in the container directory and removed by destroy.
 * Without resctrl (not built into the kernel, not mounted, or no RDT hardware) a config
 * with linux.intelRdt fails before anything is created.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Spec } from '../spec/types';
import { TsociError, sysError } from '../util/errors';

export const RESCTRL = '/sys/fs/resctrl';
export const RECORD_FILE = 'intelrdt.json';

interface RdtRecord {
  group: string;
  created: boolean;
  mon?: string;
}

/** resctrl is there when its info directory and the root group's schemata are. */
export function resctrlAvailable(root = RESCTRL): boolean {
  return fs.existsSync(path.join(root, 'info')) && fs.existsSync(path.join(root, 'schemata'));
}

export function checkIntelRdt(spec: Spec, root = RESCTRL): void {
  const rdt = spec.linux?.intelRdt;
  if (!rdt) return;
  if (!resctrlAvailable(root)) {
    throw new TsociError(`linux.intelRdt: Intel RDT is not available on this host (no resctrl file system at ${root}: the kernel lacks CONFIG_X86_CPU_RESCTRL, it is not mounted, or the CPU has no RDT)`);
  }
  const clos = rdt.closID;
  if (clos !== undefined && (clos === '' || clos === '.' || clos === '..' || clos.includes('/') || clos.includes('\n'))) {
    throw new TsociError(`linux.intelRdt.closID: invalid name ${JSON.stringify(clos)}`);
  }
  if (rdt.enableMonitoring && !fs.existsSync(path.join(root, 'info', 'L3_MON'))) {
    throw new TsociError('linux.intelRdt.enableMonitoring: this host has no RDT monitoring (no info/L3_MON)');
  }
}

function write(file: string, text: string): void {
  try {
    fs.writeFileSync(file, text);
  } catch (err) {
    throw sysError('linux.intelRdt: write', file, err);
  }
}

/** Puts `pid` into the container's CLOS (and monitoring group); records what it made in `dir`. */
export function setupIntelRdt(spec: Spec, id: string, pid: number, dir: string, root = RESCTRL): void {
  const rdt = spec.linux?.intelRdt;
  if (!rdt) return;
  checkIntelRdt(spec, root);
  const group = path.join(root, rdt.closID ?? id);
  const record: RdtRecord = { group, created: false };
  const save = () => fs.writeFileSync(path.join(dir, RECORD_FILE), JSON.stringify(record));
  if (!fs.existsSync(group)) {
    try {
      fs.mkdirSync(group);
    } catch (err) {
      throw sysError('linux.intelRdt: create CLOS group', group, err);
    }
    record.created = true;
    save();
    const lines = [rdt.l3CacheSchema, rdt.memBwSchema, ...(rdt.schemata ?? [])].filter((l): l is string => !!l);
    for (const l of lines) write(path.join(group, 'schemata'), `${l}\n`);
  }
  write(path.join(group, 'tasks'), String(pid));
  if (rdt.enableMonitoring) {
    const mon = path.join(group, 'mon_groups', id);
    try {
      fs.mkdirSync(mon, { recursive: true }); // (mon_groups exists in a real group)
    } catch (err) {
      throw sysError('linux.intelRdt: create monitoring group', mon, err);
    }
    record.mon = mon;
    save();
    write(path.join(mon, 'tasks'), String(pid));
  }
  save();
}

/** Removes what setupIntelRdt made (destroy: idempotent). */
export function removeIntelRdt(dir: string): void {
  let record: RdtRecord;
  try {
    record = JSON.parse(fs.readFileSync(path.join(dir, RECORD_FILE), 'utf8'));
  } catch {
    return;
  }
  if (record.mon) removeGroup(record.mon);
  if (record.created) removeGroup(record.group);
  fs.rmSync(path.join(dir, RECORD_FILE), { force: true });
}

/** resctrl groups go with rmdir (their files are the kernel's; their tasks move to the parent). */
function removeGroup(p: string): void {
  try {
    fs.rmdirSync(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // a plain directory tree (tests use one in place of resctrl)
    if (code === 'ENOTEMPTY' || code === 'EEXIST') fs.rmSync(p, { recursive: true, force: true });
  }
}
