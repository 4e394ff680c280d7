/**
 * The hooks tsoci-init runs itself (createContainer, startContainer): they run in the
 * container's namespaces, so the runtime cannot run them. The runtime-namespace hooks
 * (prestart, createRuntime, poststart, poststop) stay with src/container/hooks.ts.
 */
import type { Hook, Spec } from '../spec/types';
import type { LaunchPlan, PlannedHook } from './launch-plan';
import { TsociError } from '../util/errors';

function planHook(h: Hook, field: string): PlannedHook {
  if (typeof h.path !== 'string' || !h.path.startsWith('/')) {
    throw new TsociError(`${field}.path: must be an absolute path (got ${JSON.stringify(h.path)})`);
  }
  const strings = [h.path, ...(h.args ?? []), ...(h.env ?? [])];
  if (strings.some((s) => typeof s !== 'string' || s.includes('\0'))) throw new TsociError(`${field}: contains a null byte`);
  if (h.timeout !== undefined && (!Number.isInteger(h.timeout) || h.timeout <= 0)) {
    throw new TsociError(`${field}.timeout: must be a positive integer (got ${JSON.stringify(h.timeout)})`);
  }
  return { path: h.path, args: [...(h.args ?? [])], env: [...(h.env ?? [])], timeout: h.timeout ?? 0 };
}

/**
 * containerHooks for the plan, or undefined when the spec has neither kind. stateJson is the
 * runtime-spec state; tsoci-init sets "pid" (as the container sees it) and "status"
 * ("creating" for createContainer, "created" for startContainer).
 */
export function planContainerHooks(spec: Spec, id: string | undefined, bundle: string): LaunchPlan['containerHooks'] {
  const cc = spec.hooks?.createContainer ?? [];
  const sc = spec.hooks?.startContainer ?? [];
  if (cc.length === 0 && sc.length === 0) return undefined;
  const state = {
    ociVersion: spec.ociVersion,
    id: id ?? '',
    status: 'creating',
    pid: 0,
    bundle,
    annotations: spec.annotations ?? {},
  };
  return {
    createContainer: cc.map((h, i) => planHook(h, `hooks.createContainer[${i}]`)),
    startContainer: sc.map((h, i) => planHook(h, `hooks.startContainer[${i}]`)),
    stateJson: JSON.stringify(state),
  };
}
