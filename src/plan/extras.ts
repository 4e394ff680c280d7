/**
 * The issue-3 parts of a plan, added by planLaunch/planExec in one call: scheduling
 * (sched.ts), LSM labels (lsm.ts) and linux.personality.
 */
import type { Process, Spec } from '../spec/types';
import type { LaunchPlan } from './launch-plan';
import type { PlanOptions } from './options';
import { planPersonality, planProcessScheduling } from './sched';
import { applyMountLabel, planProcessLsm } from './lsm';

export function addProcessExtras(plan: LaunchPlan, p: Process, spec: Spec, opts: PlanOptions): void {
  planProcessScheduling(p, plan.process, plan.mode);
  // SCHED_DEADLINE is refused (EPERM) in a cpuset that is not a root domain: runc says why
  if (plan.process.scheduler && spec.linux?.resources?.cpu?.cpus) plan.process.scheduler.cpusetCpus = true;
  planProcessLsm(p, plan.process, opts);
  if (spec.linux?.personality) plan.personality = planPersonality(spec.linux.personality);
  if (plan.mode === 'create') applyMountLabel(plan.mounts, spec.linux?.mountLabel, opts);
}
