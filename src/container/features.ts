/**
 * `tsoci features`: the Features structure of runtime-spec 1.3 (features.md,
 * features-linux.md) describing what tsoci implements — not what the host offers, with
 * one exception the spec allows: seccomp's supportedFlags (and the libseccomp annotation)
 * depend on the libseccomp tsoci was built with.
 *
 * Everything listed here is implemented; keep it that way (a feature lands → list it).
 */
import * as os from 'os';
import { describeCriu } from '../criu/binary';
import type { Features } from '../spec/types';
import { CAPABILITY_NAMES } from '../plan/capabilities';
import { MOUNT_FLAG_OPTIONS, PROPAGATION_OPTIONS, RECURSIVE_FLAG_OPTIONS } from '../plan/mount-options';
import { native } from '../native';
import { ROOTLESS_FEATURES } from '../rootless/detect';

declare const TSOCI_VERSION: string;
declare const TSOCI_COMMIT: string;

export const OCI_VERSION_MIN = '1.0.0';
export const OCI_VERSION_MAX = '1.3.0';

/** All six hook kinds: runtime-namespace ones in src/container, container ones in cpp/init/hooks.cc. */
export const HOOKS = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];

/** Mount options that are not MS_* flags or propagation: handled by the planner and tsoci-init. */
export const EXTENSION_MOUNT_OPTIONS: string[] = ['idmap', 'ridmap', 'tmpcopyup'];

/** Namespace types tsoci creates and joins (src/plan/namespaces.ts). */
export const NAMESPACES = ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts'];

/** What the seccomp module (src/seccomp, cpp/addon/seccomp.cc) recognises. */
export const SECCOMP_ACTIONS = [
  'SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY', 'SCMP_ACT_TRACE', 'SCMP_ACT_TRAP',
];
export const SECCOMP_OPERATORS = ['SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_LE', 'SCMP_CMP_LT', 'SCMP_CMP_MASKED_EQ', 'SCMP_CMP_NE'];
/** libseccomp 2.4 knows these … */
const ARCHS_BASE = [
  'SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM', 'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS64N32', 'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPSEL64N32', 'SCMP_ARCH_PPC', 'SCMP_ARCH_PPC64', 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X', 'SCMP_ARCH_X32', 'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64',
];
/** … 2.5 adds these, 2.6 the last four. */
const ARCHS_2_5 = ['SCMP_ARCH_PARISC', 'SCMP_ARCH_PARISC64', 'SCMP_ARCH_RISCV64'];
const ARCHS_2_6 = ['SCMP_ARCH_LOONGARCH64', 'SCMP_ARCH_M68K', 'SCMP_ARCH_SH', 'SCMP_ARCH_SHEB'];
export const SECCOMP_KNOWN_FLAGS = ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'];

/**
 * Features implemented by other parts of tsoci that this module cannot derive from code it
 * imports. Flip an entry when the feature lands.
 */
export const IMPLEMENTED = {
  /** process.apparmorProfile applied at exec (cpp/init/lsm.cc) */
  apparmor: false,
  /** process.selinuxLabel / linux.mountLabel */
  selinux: false,
  /** mounts[].uidMappings/gidMappings, idmap/ridmap (cpp/init/mount_ext.cc) */
  idmap: true,
  /** linux.netDevices (src/netdev/netdevices.ts) */
  netDevices: true,
  /** linux.memoryPolicy (cpp/init/mempolicy.cc) */
  memoryPolicy: true,
  /** linux.intelRdt through resctrl (src/intelrdt/intelrdt.ts) */
  intelRdt: true,
};

export const MEMORY_POLICY_MODES = ['MPOL_DEFAULT', 'MPOL_BIND', 'MPOL_INTERLEAVE', 'MPOL_WEIGHTED_INTERLEAVE', 'MPOL_PREFERRED', 'MPOL_PREFERRED_MANY', 'MPOL_LOCAL'];
export const MEMORY_POLICY_FLAGS = ['MPOL_F_NUMA_BALANCING', 'MPOL_F_RELATIVE_NODES', 'MPOL_F_STATIC_NODES'];

/**
 * config.json annotations that change what tsoci does. None yet: tsoci reads no annotation
 * (runc's "bundle", "org.systemd.property." and "org.criu.config" mean nothing here).
 */
export const UNSAFE_CONFIG_ANNOTATIONS: string[] = [];

interface SeccompLib {
  available: boolean;
  version: string;
  apiLevel: number;
}

/** libseccomp facts from the addon, or undefined when tsoci has no seccomp support. */
function seccompLib(): SeccompLib | undefined {
  try {
    const addon = native() as unknown as { seccompInfo?: () => SeccompLib };
    if (typeof addon.seccompInfo !== 'function') return undefined;
    const info = addon.seccompInfo();
    return info.available ? info : undefined;
  } catch {
    return undefined;
  }
}

function atLeast(version: string, major: number, minor: number): boolean {
  const [a, b] = version.split('.').map((n) => parseInt(n, 10));
  return a > major || (a === major && b >= minor);
}

/**
 * Flags the kernel and libseccomp accept: LOG needs API level 3, SPEC_ALLOW level 4,
 * WAIT_KILLABLE_RECV libseccomp 2.6 (level 7) and Linux 5.19; TSYNC always works.
 */
function supportedSeccompFlags(lib: SeccompLib, kernel: string): string[] {
  const out = ['SECCOMP_FILTER_FLAG_TSYNC'];
  if (lib.apiLevel >= 3) out.push('SECCOMP_FILTER_FLAG_LOG');
  if (lib.apiLevel >= 4) out.push('SECCOMP_FILTER_FLAG_SPEC_ALLOW');
  if (lib.apiLevel >= 7 && atLeast(kernel, 5, 19)) out.push('SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV');
  return out;
}

export function mountOptions(): string[] {
  return [...Object.keys(MOUNT_FLAG_OPTIONS), ...Object.keys(RECURSIVE_FLAG_OPTIONS), ...Object.keys(PROPAGATION_OPTIONS), ...EXTENSION_MOUNT_OPTIONS].sort();
}

export function features(kernelRelease = os.release()): Features {
  const lib = seccompLib();
  const version = typeof TSOCI_VERSION === 'string' ? TSOCI_VERSION : '0.0.0-dev';
  const commit = typeof TSOCI_COMMIT === 'string' ? TSOCI_COMMIT : 'unknown';
  const annotations: Record<string, string> = { 'dev.tsoci.version': version, 'dev.tsoci.commit': commit, ...ROOTLESS_FEATURES };
  if (lib) annotations['io.github.seccomp.libseccomp.version'] = lib.version;
  // checkpoint/restore: the CRIU they would use (src/criu)
  annotations['dev.tsoci.checkpoint.criu'] = describeCriu();
  const linux: NonNullable<Features['linux']> = {
    namespaces: [...NAMESPACES] as NonNullable<Features['linux']>['namespaces'],
    capabilities: [...CAPABILITY_NAMES],
    // systemd: transient scopes on the system bus (src/cgroups/systemd.ts); not the user's instance
    cgroup: { v1: true, v2: true, systemd: true, systemdUser: false, rdma: true },
    seccomp: lib
      ? {
        enabled: true,
        actions: [...SECCOMP_ACTIONS],
        operators: [...SECCOMP_OPERATORS],
        archs: [...ARCHS_BASE, ...(atLeast(lib.version, 2, 5) ? ARCHS_2_5 : []), ...(atLeast(lib.version, 2, 6) ? ARCHS_2_6 : [])].sort(),
        knownFlags: [...SECCOMP_KNOWN_FLAGS],
        supportedFlags: supportedSeccompFlags(lib, kernelRelease),
      }
      : { enabled: false },
    apparmor: { enabled: IMPLEMENTED.apparmor },
    selinux: { enabled: IMPLEMENTED.selinux },
    intelRdt: IMPLEMENTED.intelRdt ? { enabled: true, schemata: true, monitoring: true } : { enabled: false },
    mountExtensions: { idmap: { enabled: IMPLEMENTED.idmap } },
    netDevices: { enabled: IMPLEMENTED.netDevices },
  };
  if (IMPLEMENTED.memoryPolicy) linux.memoryPolicy = { modes: [...MEMORY_POLICY_MODES], flags: [...MEMORY_POLICY_FLAGS] };
  return {
    ociVersionMin: OCI_VERSION_MIN,
    ociVersionMax: OCI_VERSION_MAX,
    hooks: [...HOOKS],
    mountOptions: mountOptions(),
    linux,
    annotations,
    potentiallyUnsafeConfigAnnotations: [...UNSAFE_CONFIG_ANNOTATIONS],
  };
}
