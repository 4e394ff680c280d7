/**
 * linux.netDevices (runtime-spec 1.3, config-linux.md "Network Devices"): host interfaces
 * moved into the container's network namespace during create, once the container process
 * exists (the `pid` message), with iproute2:
 *  - the move must be possible: the device exists, the container has a network namespace
 *    other than the runtime's, and no device of the target name exists there unless the
 *    name is a template ("eth%d": the kernel picks the number);
 *  - permanent (not dynamic) addresses of global scope are preserved: the kernel drops
 *    addresses on a namespace change, so they are read before and added again after;
 *  - the device is set up.
 * Nothing is moved back at delete: the spec says the runtime MUST NOT; when the namespace
 * goes away the kernel returns physical devices to the initial namespace and destroys
 * virtual ones (a veth pair disappears entirely). Only a partially failed move during
 * create returns the devices already moved, so a failed create leaves the host as it was.
 */
import { childProcess } from '../util/lazy';
import * as fs from 'fs';
import type { Spec } from '../spec/types';
import { TsociError } from '../util/errors';

const IFNAMSIZ = 16;

interface Addr {
  family: string;
  local: string;
  prefixlen: number;
  scope?: string;
  dynamic?: boolean;
}

function run(cmd: string, args: string[]): string {
  try {
    return childProcess().execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error((e.stderr || e.message).trim());
  }
}

function inNetns(pid: number, args: string[]): string {
  return run('nsenter', [`--net=/proc/${pid}/ns/net`, '--', 'ip', ...args]);
}

function linkNames(pid: number): string[] {
  return (JSON.parse(inNetns(pid, ['-j', 'link', 'show']) || '[]') as { ifname: string }[]).map((l) => l.ifname);
}

function checkName(name: string, field: string): void {
  if (name === '' || name.length >= IFNAMSIZ || /[\s/:]/.test(name) || name === '.' || name === '..') {
    throw new TsociError(`${field}: invalid network device name ${JSON.stringify(name)}`);
  }
}

/** The checks that need no process: names, and a network namespace of the container's own. */
export function checkNetDevices(spec: Spec): void {
  const devices = spec.linux?.netDevices;
  if (!devices || Object.keys(devices).length === 0) return;
  const netns = (spec.linux?.namespaces ?? []).find((n) => n.type === 'network');
  if (!netns) throw new TsociError('linux.netDevices: the container has no network namespace of its own: devices cannot be moved into it');
  for (const [host, d] of Object.entries(devices)) {
    checkName(host, `linux.netDevices[${JSON.stringify(host)}]`);
    if (d?.name !== undefined) checkName(d.name, `linux.netDevices[${JSON.stringify(host)}].name`);
  }
}

interface Moved {
  host: string;
  inside: string;
  addrs: string[];
}

/** Moves every linux.netDevices entry into the network namespace of `pid`. */
export function moveNetDevices(spec: Spec, pid: number): void {
  const devices = spec.linux?.netDevices;
  if (!devices || Object.keys(devices).length === 0) return;
  checkNetDevices(spec);
  if (fs.readlinkSync(`/proc/${pid}/ns/net`) === fs.readlinkSync('/proc/self/ns/net')) {
    throw new TsociError("linux.netDevices: the container shares the runtime's network namespace: devices cannot be moved into it");
  }
  const moved: Moved[] = [];
  try {
    for (const [host, d] of Object.entries(devices)) moved.push(moveOne(host, d?.name ?? host, pid));
  } catch (err) {
    for (const m of moved.reverse()) moveBack(m, pid);
    throw err;
  }
}

function moveOne(host: string, target: string, pid: number): Moved {
  const field = `linux.netDevices[${JSON.stringify(host)}]`;
  let info: { addr_info?: Addr[] }[];
  try {
    info = JSON.parse(run('ip', ['-j', 'addr', 'show', 'dev', host]) || '[]');
  } catch (err) {
    throw new TsociError(`${field}: network device ${JSON.stringify(host)} not found on the host: ${(err as Error).message}`);
  }
  // permanent (IFA_F_PERMANENT: not "dynamic") addresses of global scope
  const addrs = (info[0]?.addr_info ?? []).filter((a) => a.scope === 'global' && !a.dynamic).map((a) => `${a.local}/${a.prefixlen}`);
  const template = target.includes('%d');
  const before = linkNames(pid);
  if (!template && before.includes(target)) {
    throw new TsociError(`${field}: a network device named ${JSON.stringify(target)} already exists in the container's network namespace`);
  }
  try {
    run('ip', ['link', 'set', 'dev', host, 'netns', String(pid), 'name', target]);
  } catch (err) {
    throw new TsociError(`${field}: move ${host} into the container's network namespace as ${target}: ${(err as Error).message}`);
  }
  let inside = target;
  if (template) inside = linkNames(pid).find((n) => !before.includes(n)) ?? target;
  const m: Moved = { host, inside, addrs };
  try {
    for (const a of addrs) inNetns(pid, ['addr', 'add', a, 'dev', inside]);
    inNetns(pid, ['link', 'set', 'dev', inside, 'up']);
  } catch (err) {
    moveBack(m, pid);
    throw new TsociError(`${field}: configure ${inside} in the container's network namespace: ${(err as Error).message}`);
  }
  return m;
}

/** Best effort: back into the runtime's namespace under its host name, with its addresses. */
function moveBack(m: Moved, pid: number): void {
  try {
    inNetns(pid, ['link', 'set', 'dev', m.inside, 'netns', `/proc/${process.pid}/ns/net`, 'name', m.host]);
    for (const a of m.addrs) run('ip', ['addr', 'add', a, 'dev', m.host]);
  } catch {
    /* the device stays in the namespace: the kernel returns or destroys it with the namespace */
  }
}
