/**
 * Reading an OCI bundle's config.json (and exec's process.json): parse, validate against
 * the schema, then the semantic checks. Every failure is one TsociError naming the file
 * and listing every problem, so a user fixes a bad bundle in one round.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TsociError, sysError } from '../util/errors';
import { memoryPolicyProblem } from '../plan/mempolicy';
import { checkOciVersion, checkSpecSemantics } from './semantic';
import type { Process, Spec } from './types';
import { validateConfig, validateProcess } from './validate';

export const CONFIG_FILE = 'config.json';

/** Read, validate and check `<bundleDir>/config.json`. */
export function loadSpec(bundleDir: string): Spec {
  let isDir: boolean;
  try {
    isDir = statSync(bundleDir).isDirectory();
  } catch (err) {
    throw sysError('bundle', bundleDir, err);
  }
  if (!isDir) throw new TsociError(`bundle ${bundleDir}: not a directory`, 'ENOTDIR');
  const path = join(bundleDir, CONFIG_FILE);
  return parseSpec(readText(path), CONFIG_FILE);
}

/** Validate and check the text of a config.json; `name` is how errors refer to it. */
export function parseSpec(text: string, name = CONFIG_FILE): Spec {
  const obj = withoutNulls(parseJson(text, name));
  // a version tsoci does not know would mostly produce confusing schema errors: say so first
  const version = (obj as { ociVersion?: unknown } | null)?.ociVersion;
  if (typeof version === 'string') {
    const unsupported = checkOciVersion(version);
    if (unsupported) throw new TsociError(unsupported);
  }
  // runc's words where clients and its tests read them (a schema message would come first)
  const mpol = memoryPolicyProblem((obj as { linux?: { memoryPolicy?: unknown } } | null)?.linux?.memoryPolicy);
  if (mpol) throw new TsociError(mpol);
  const violations = validateConfig(obj);
  if (violations.length > 0) throw new TsociError(`invalid ${name}: ${violations.join('; ')}`);
  const spec = obj as Spec;
  const problems = checkSpecSemantics(spec);
  if (problems.length > 0) throw new TsociError(`invalid ${name}: ${problems.join('; ')}`);
  return spec;
}

/** Read and validate the process.json of `exec --process <path>`. */
export function loadProcess(path: string): Process {
  const obj = withoutNulls(parseJson(readText(path), `process ${path}`));
  const violations = validateProcess(obj);
  if (violations.length > 0) throw new TsociError(`invalid process ${path}: ${violations.join('; ')}`);
  const proc = obj as Process;
  if (!proc.cwd.startsWith('/')) throw new TsociError(`invalid process ${path}: cwd "${proc.cwd}" must be an absolute path`);
  return proc;
}

/**
 * A member whose value is null is taken as absent, as runc (Go) reads it: `"timeOffsets":
 * null` means no offsets (runc's timens.bats). Array elements are left as they are.
 */
export function withoutNulls(root: unknown): unknown {
  // in place and without recursion: a config nested deeper than the JS stack is the
  // validator's to refuse, not a crash here (the fuzz corpus has one 100000 deep)
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const v = pending.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (const x of v) pending.push(x);
      continue;
    }
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (o[k] === null) delete o[k];
      else pending.push(o[k]);
    }
  }
  return root;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw sysError('open', path, err);
  }
}

function parseJson(text: string, name: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new TsociError(`invalid ${name}: not valid JSON: ${(err as Error).message}`);
  }
}
