export * from './launch-plan';
export type { PlanOptions } from './options';
export { planLaunch, planExec, hasPausingHooks, DEFAULT_ROOTFS_PROPAGATION } from './plan';
export { CAPABILITY_NAMES, CAP_LAST_CAP, capabilityNumber, capabilityName, resolveCapabilities } from './capabilities';
export { RLIMIT_NUMBERS, rlimitNumber, resolveRlimits } from './rlimits';
export { parseMountOptions, propagationFlag } from './mount-options';
export { NS_PROC_NAME, NAMESPACE_ORDER } from './namespaces';
export { cleanContainerPath } from './paths';
