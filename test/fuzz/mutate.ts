import { Rng } from './rng';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonPath = (string | number)[];

/** Every path in a JSON value (the root included as []). */
export function allPaths(v: Json, prefix: JsonPath = []): JsonPath[] {
  const out: JsonPath[] = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...allPaths(x, [...prefix, i])));
  else if (v && typeof v === 'object') for (const k of Object.keys(v)) out.push(...allPaths(v[k], [...prefix, k]));
  return out;
}

export function getAt(v: Json, p: JsonPath): Json | undefined {
  let cur: any = v;
  for (const k of p) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = cur[k as any];
  }
  return cur;
}

/** A copy of v with the value at p replaced (or removed when `value` is undefined). */
export function setAt(v: Json, p: JsonPath, value: Json | undefined): Json {
  if (p.length === 0) return value === undefined ? null : value;
  const copy: any = Array.isArray(v) ? [...v] : { ...(v as object) };
  const [k, ...rest] = p;
  if (rest.length === 0) {
    if (value === undefined) {
      if (Array.isArray(copy)) copy.splice(k as number, 1);
      else delete copy[k];
    } else copy[k] = value;
  } else copy[k] = setAt(copy[k], rest, value);
  return copy;
}

/** Wrong types, one of each kind. */
export const WRONG_TYPES: Json[] = [null, 0, -1, 1.5, 'x', '', true, [], {}, [1, 'a'], { a: 1 }];

/**
 * Values a fuzzer throws at a field: huge and negative numbers, unknown enum-like
 * strings, path tricks, long strings, control characters. All harmless as data: no
 * host binary, device, interface or cgroup name that would act on the host.
 */
const NUMBERS = [0, -1, -2147483648, 2147483647, 4294967295, 4294967296, 2 ** 53, -(2 ** 53), 1e308, -1e308, 0.5, -0.0, 65536, 1e21];
const STRINGS = ['', ' ', 'bogus', 'BOGUS_ENUM_VALUE', 'SCMP_ACT_BOGUS', 'CAP_BOGUS', 'RLIMIT_BOGUS', 'x'.repeat(5000),
  '../../../../etc', '/a/../../b', 'relative/path', '/proc/self/fd/3', '/..', '/./././', '//', 'a\u0000b', '\n', 'ünïcødé',
  '%s%n', '${PATH}', '-1', '1e999', 'true', 'null', '/dev/null', '/tmp/../..', 'rw,remountx', 'mode=0', 'size=-1'];

export function randomValue(rng: Rng, depth = 0): Json {
  switch (rng.int(depth > 2 ? 5 : 8)) {
    case 0: return rng.pick(NUMBERS);
    case 1: return rng.pick(STRINGS);
    case 2: return rng.pick(WRONG_TYPES);
    case 3: return rng.chance(0.5);
    case 4: return rng.int(70000) - 5000;
    case 5: return Array.from({ length: rng.int(4) }, () => randomValue(rng, depth + 1));
    case 6: {
      const o: Record<string, Json> = {};
      for (let i = rng.int(4); i > 0; i--) o[rng.pick(['type', 'path', 'size', 'x', 'hostID', 'destination', 'options'])] = randomValue(rng, depth + 1);
      return o;
    }
    default: return rng.pick(STRINGS);
  }
}

/** One to three mutations at random paths: replace, delete, duplicate an array entry, or nudge a number. */
export function mutate(rng: Rng, base: Json): { value: Json; what: string[] } {
  let v = base;
  const what: string[] = [];
  for (let n = 1 + rng.int(3); n > 0; n--) {
    const paths = allPaths(v).filter((p) => p.length > 0);
    if (paths.length === 0) break;
    const p = rng.pick(paths);
    const cur = getAt(v, p);
    const where = '/' + p.join('/');
    const op = rng.int(6);
    if (op === 0) {
      v = setAt(v, p, undefined);
      what.push(`delete ${where}`);
    } else if (op === 1 && typeof cur === 'number') {
      const nv = rng.pick([cur + 1, cur - 1, -cur, cur * 65536, cur + 2 ** 32]);
      v = setAt(v, p, nv);
      what.push(`${where} = ${nv}`);
    } else if (op === 2 && Array.isArray(getAt(v, p.slice(0, -1)))) {
      const parent = getAt(v, p.slice(0, -1)) as Json[];
      v = setAt(v, p.slice(0, -1), [...parent, cur as Json]);
      what.push(`duplicate ${where}`);
    } else {
      const nv = randomValue(rng);
      v = setAt(v, p, nv);
      what.push(`${where} = ${JSON.stringify(nv).slice(0, 60)}`);
    }
  }
  return { value: v, what };
}
