/**
 * Schema validation of runtime-spec documents with the ajv *standalone* validators that
 * scripts/build-schemas.mjs generates into ./generated/. Each validator is required on its
 * first use only: start-up is a budget, and most commands need at most one of them.
 *
 * Every function returns all violations (empty when valid), each as
 * "<JSON pointer>: <message>", e.g. "/process/args: must be array".
 */

/** The part of an ajv ErrorObject we read (the generated code builds plain objects). */
interface AjvError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
  propertyName?: string;
}

interface GeneratedValidator {
  (data: unknown): boolean;
  errors?: AjvError[] | null;
}

type ValidatorName = 'config' | 'state' | 'process' | 'resources' | 'features';

const cache = new Map<ValidatorName, GeneratedValidator>();

// Literal require() paths so that esbuild bundles the generated files.
function load(name: ValidatorName): GeneratedValidator {
  switch (name) {
    case 'config':
      return require('./generated/validate-config.js');
    case 'state':
      return require('./generated/validate-state.js');
    case 'process':
      return require('./generated/validate-process.js');
    case 'resources':
      return require('./generated/validate-resources.js');
    case 'features':
      return require('./generated/validate-features.js');
  }
}

function run(name: ValidatorName, obj: unknown): string[] {
  let validate = cache.get(name);
  if (!validate) {
    validate = load(name);
    cache.set(name, validate);
  }
  return validate(obj) ? [] : formatErrors(validate.errors ?? []);
}

/** config.json (the whole Spec) */
export function validateConfig(obj: unknown): string[] {
  return run('config', obj);
}

/** the output of `state` */
export function validateState(obj: unknown): string[] {
  return run('state', obj);
}

/** a process.json given to `exec --process` */
export function validateProcess(obj: unknown): string[] {
  return run('process', obj);
}

/** a LinuxResources document given to `update --resources` */
export function validateResources(obj: unknown): string[] {
  return run('resources', obj);
}

/** the output of `features` */
export function validateFeatures(obj: unknown): string[] {
  return run('features', obj);
}

/** Turn ajv errors into "<path>: <message>" lines, dropping ajv's redundant summary errors. */
export function formatErrors(errors: readonly AjvError[]): string[] {
  const lines: string[] = [];
  const anyOfRequired = new Map<string, string[]>(); // "path|schemaPath of anyOf" → missing names
  for (const e of errors) {
    const path = e.instancePath === '' ? '/' : e.instancePath;
    // "must match \"then\" schema" only repeats the error from inside `then`
    if (e.keyword === 'if') continue;
    // "property name must be valid" only repeats the error about the name itself
    if (e.keyword === 'propertyNames') continue;
    const anyOfAt = e.schemaPath.lastIndexOf('/anyOf/');
    if (anyOfAt >= 0 && e.keyword === 'required') {
      const key = `${path}|${e.schemaPath.slice(0, anyOfAt)}`;
      const names = anyOfRequired.get(key) ?? [];
      names.push(`'${String(e.params.missingProperty)}'`);
      anyOfRequired.set(key, names);
      continue;
    }
    if (e.keyword === 'anyOf') {
      const names = anyOfRequired.get(`${path}|${e.schemaPath.replace(/\/anyOf$/, '')}`);
      lines.push(`${path}: ${names ? `must have at least one of ${names.join(', ')}` : e.message}`);
      continue;
    }
    lines.push(`${path}: ${describe(e)}`);
  }
  return [...new Set(lines)];
}

function describe(e: AjvError): string {
  const message = e.message ?? `must pass "${e.keyword}"`;
  switch (e.keyword) {
    case 'additionalProperties':
      return `must NOT have additional property '${String(e.params.additionalProperty)}'`;
    case 'enum': {
      const allowed = (e.params.allowedValues as unknown[]) ?? [];
      return `${message}: ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    default:
      return e.propertyName !== undefined ? `property name '${e.propertyName}' ${message}` : message;
  }
}
