/**
 * seccomp for a launch: profile → (cached) classic BPF via the addon → LaunchPlan.seccomp.
 * Called by create and exec after planLaunch (the planner stays pure; compiling needs the
 * addon). runc gives exec'd processes the container's profile; so does tsoci.
 */
import type { Spec } from '../spec/types';
import type { LaunchPlan } from '../plan/launch-plan';
import { native } from '../native';
import { TsociError } from '../util/errors';
import { logDebug } from '../util/log';
import { compileCached } from './cache';
import { compileInput, filterFlags, listenerState, seccompEnabled, usesNotify, type SeccompCompileInput, type SeccompLibInfo } from './profile';

export interface SeccompContext {
  /** state root: the cache lives under it */
  root: string;
  id: string;
  bundle: string;
  mode: 'create' | 'exec';
  /** exec: the container's init pid */
  initPid?: number;
  annotations?: Record<string, string>;
}

interface SeccompAddon {
  compileSeccomp(input: SeccompCompileInput): { bpf?: Buffer; error?: string; errno?: number };
  seccompInfo(): SeccompLibInfo;
}

let libInfo: SeccompLibInfo | undefined;
function addon(): SeccompAddon {
  return native() as unknown as SeccompAddon;
}

export function seccompLibInfo(): SeccompLibInfo {
  libInfo ??= addon().seccompInfo();
  return libInfo;
}

/** Compiles with libseccomp (no cache); errors name the profile field. */
export function compileSeccomp(input: SeccompCompileInput): Buffer {
  const r = addon().compileSeccomp(input);
  if (!r.bpf) throw new TsociError(`linux.seccomp: ${r.error ?? 'compile failed'}`, r.errno !== undefined ? String(r.errno) : undefined);
  return r.bpf;
}

/** LaunchPlan.seccomp for this spec, or undefined when the spec has no (enabled) profile. */
export function prepareSeccomp(spec: Spec, ctx: SeccompContext): LaunchPlan['seccomp'] {
  const profile = spec.linux?.seccomp;
  if (!seccompEnabled(profile)) return undefined;
  const input = compileInput(profile);
  const lib = seccompLibInfo();
  if (!lib.available) throw new TsociError('linux.seccomp: tsoci was built without libseccomp: seccomp profiles are not supported');
  const notify = usesNotify(profile);
  if (notify && lib.apiLevel < 6) {
    throw new TsociError(`linux.seccomp: seccomp notify unsupported: libseccomp API level ${lib.apiLevel}, need at least 6 (libseccomp >= 2.5.0, Linux >= 5.7)`);
  }
  const flags = filterFlags(profile, lib);
  const c = compileCached(ctx.root, input, lib, compileSeccomp);
  logDebug(`seccomp: ${c.cached ? 'cached filter' : 'compiled filter'} ${c.file ?? '(not cached)'}: ${c.bpf.length / 8} instructions in ${c.ms.toFixed(1)} ms`);
  // runc's debug line (its seccomp.bats checks the number)
  logDebug(`seccomp filter flags: ${flags}`);
  const out: NonNullable<LaunchPlan['seccomp']> = { bpf: c.bpf.toString('base64'), flags };
  if (notify) {
    out.listenerPath = profile.listenerPath;
    out.listenerState = listenerState({
      id: ctx.id,
      bundle: ctx.bundle,
      ociVersion: spec.ociVersion,
      annotations: ctx.annotations ?? (spec.annotations as Record<string, string> | undefined),
      mode: ctx.mode,
      initPid: ctx.initPid,
      metadata: profile.listenerMetadata,
    });
  }
  return out;
}
