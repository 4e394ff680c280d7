/**
 * Device rules on cgroup v2: there are no devices.allow/deny files, the kernel asks eBPF
 * programs (BPF_PROG_TYPE_CGROUP_DEVICE) attached to the cgroup. The addon
 * (cpp/addon/devices_bpf.cc) builds the program from the rules, loads it, attaches it and
 * detaches the programs attached before (after the new one is in: never a moment without a
 * filter).
 *
 * The rule list is the one the v1 driver writes (resources-v1.ts applyDevicesV1): deny all,
 * the spec's rules in order, then runc's default allowed devices. The program: the last
 * matching rule wins, nothing matched → deny. An allow rule matches a request whose access
 * bits are all in its access (v1's check); a deny rule one with any bit in its access.
 * One difference from v1: in v1's default-deny mode a deny rule only removes an exception
 * with the very same type:major:minor (`allow c *:* rwm` then `deny c 1:3 rwm` still allows
 * c 1:3); here that deny applies.
 */
import { deviceAccess, deviceRuleMatters } from './device-access';
import { getSystemErrorMap } from 'util';
import type { LinuxResources } from '../spec/types';
import { native } from '../native';
import { TsociError } from '../util/errors';
import { logDebug } from '../util/log';
import { DEFAULT_DEVICE_RULES } from './resources-v1';

type SpecRule = NonNullable<LinuxResources['devices']>[number];

/** A rule as the addon takes it: every field present, -1 = any major/minor. */
export interface DeviceFilterRule {
  allow: boolean;
  type: 'a' | 'b' | 'c';
  major: number;
  minor: number;
  access: string;
}

interface AddonFailure {
  error: string;
  errno: number;
  step: string;
  call?: string;
  log?: string;
  path?: string;
}
interface DevicesAddon {
  deviceFilterProgram(rules: DeviceFilterRule[]): { insns: Buffer } | AddonFailure;
  deviceFilterApply(dir: string, rules: DeviceFilterRule[]): { progId: number; replaced: number[] } | AddonFailure;
  deviceFilterQuery(dir: string): { ids: number[]; attachFlags: number } | AddonFailure;
}
const addon = () => native() as unknown as DevicesAddon;

const MAX_U32 = 0xffffffff;

function normalize(r: SpecRule, i: number): DeviceFilterRule {
  const bad = (what: string) => new TsociError(`cgroup: invalid device rule ${i}: ${what}`);
  const type = r.type ?? 'a';
  if (!['a', 'b', 'c'].includes(type)) throw bad(`type ${JSON.stringify(type)}`);
  if (typeof r.allow !== 'boolean') throw bad('allow must be a boolean');
  const access = type === 'a' ? 'rwm' : deviceAccess(r.access); // runc: "a" means every device, whatever its access says
  const num = (n: number | undefined, field: string) => {
    if (n === undefined || n === null || n < 0) return -1; // as v1 writes it: "*"
    if (!Number.isInteger(n) || n > MAX_U32) throw bad(`${field} ${n} cannot be expressed in a device filter (0..${MAX_U32})`);
    return n;
  };
  return { allow: r.allow, type: type as DeviceFilterRule['type'], major: num(r.major, 'major'), minor: num(r.minor, 'minor'), access };
}

/** The spec's rules then runc's defaults, as v1 writes them (the initial "deny all" is the program's default). */
export function deviceFilterRules(spec: readonly SpecRule[] | undefined): DeviceFilterRule[] {
  const out: DeviceFilterRule[] = [];
  [...(spec ?? []), ...DEFAULT_DEVICE_RULES].forEach((r, i) => {
    if (deviceRuleMatters(r)) out.push(normalize(r, i));
  });
  return out;
}

/** Where the rules go: the addon, or (tests against a fake cgroupfs) a recorder. */
export interface DeviceFilterBackend {
  apply(dir: string, rules: DeviceFilterRule[]): void;
}

function failure(r: AddonFailure, dir?: string): TsociError {
  const code = getSystemErrorMap().get(-r.errno);
  if (r.step === 'rules') return new TsociError(`cgroup: device filter${dir ? ` for ${dir}` : ''}: ${r.error}`, code?.[0]);
  const why = code ? `${code[1]} (${code[0]})` : `errno ${r.errno}`;
  const log = r.log ? `; verifier log: ${r.log}` : '';
  return new TsociError(`cgroup: device filter: ${r.step} ${r.path ?? dir}: ${r.call}: ${why}${log}`, code?.[0]);
}

/** Attaches a program for exactly these rules (no defaults added); returns its id and the ids it replaced. */
export function attachDeviceFilter(dir: string, rules: DeviceFilterRule[]): { progId: number; replaced: number[] } {
  const r = addon().deviceFilterApply(dir, rules);
  if ('error' in r) throw failure(r, dir);
  logDebug(`cgroup: device filter program ${r.progId} attached to ${dir}${r.replaced.length ? `, replaced ${r.replaced.join(' ')}` : ''}`);
  return r;
}

const addonBackend: DeviceFilterBackend = { apply: attachDeviceFilter };

let backend = addonBackend;
/** Tests: swap the backend; returns the previous one. No argument restores the addon. */
export function setDeviceFilterBackend(b?: DeviceFilterBackend): DeviceFilterBackend {
  const prev = backend;
  backend = b ?? addonBackend;
  return prev;
}

/**
 * Builds and attaches the program for these spec rules (defaults added), replacing any
 * program attached before. Rootless: a failure is skipped, as v1 skips device rules it may
 * not write (bpf(2) needs CAP_BPF / CAP_SYS_ADMIN).
 */
export function applyDevicesV2(dir: string, spec: readonly SpecRule[] | undefined, opts: { rootless?: boolean } = {}): void {
  const rules = deviceFilterRules(spec);
  try {
    backend.apply(dir, rules);
  } catch (err) {
    if (!opts.rootless) throw err;
    logDebug(`cgroup: rootless: device filter not applied: ${(err as Error).message}`);
  }
}

/** The program's instructions (struct bpf_insn, 8 bytes each), without loading it. */
export function deviceFilterProgram(rules: DeviceFilterRule[]): Buffer {
  const r = addon().deviceFilterProgram(rules);
  if ('error' in r) throw failure(r);
  return r.insns;
}

/** Ids of the device programs attached directly to this cgroup directory. */
export function deviceFilterIds(dir: string): number[] {
  const r = addon().deviceFilterQuery(dir);
  if ('error' in r) throw failure(r, dir);
  return r.ids;
}
