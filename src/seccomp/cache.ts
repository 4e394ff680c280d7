/**
 * A cache of compiled seccomp filters: `<root>/.seccomp-cache/<name>.bpf`.
 *
 * Compiling podman's default profile with libseccomp costs ~30-80 ms; every container of a
 * pod (and every exec) uses the same profile. The key covers the compile input, the
 * libseccomp version and the machine, so an upgraded libseccomp never serves a stale filter.
 * The file name is a 64-bit FNV-1a of the key and the file holds the whole key before the
 * filter: a hit is a byte-for-byte equal key, so a name collision is only a miss (a SHA-256
 * name would need node:crypto, whose loading cost more than the rest of a cached lookup).
 * Writers are safe against each other: each writes its own temp file and renames it into
 * place (rename is atomic; the same key always means the same bytes). The directory name
 * starts with a dot: `list`, the id check and the test leak check never take it for a container.
 * The cache is an optimisation only: when it cannot be read or written, tsoci compiles.
 */
import * as fs from 'fs';
import { native } from '../native';
import * as path from 'path';
import { canonicalInput, type SeccompCompileInput, type SeccompLibInfo } from './profile';

export const SECCOMP_CACHE_DIR = '.seccomp-cache';
const FORMAT = 'tsoci-seccomp-bpf-3'; // 3: with runc's -ENOSYS stub
/** BPF_MAXINSNS: the kernel refuses longer classic filters. */
const MAX_INSNS = 4096;

export interface CachedCompile {
  bpf: Buffer;
  /** served from the cache (no libseccomp work) */
  cached: boolean;
  /** the cache file (absent when the cache could not be used) */
  file?: string;
  /** time spent compiling or reading, ms */
  ms: number;
}

/** Everything a cached filter depends on. */
export function cacheKey(input: SeccompCompileInput, lib: Pick<SeccompLibInfo, 'version'>): string {
  return `${FORMAT}\n${lib.version}\n${process.arch}\n${canonicalInput(input)}`;
}

/** The cache file's name: 64-bit FNV-1a of the key (computed by the addon), 16 hex digits. */
export function cacheFileName(key: Buffer): string {
  return `${(native() as unknown as { seccompCacheName(key: Buffer): string }).seccompCacheName(key)}.bpf`;
}

export function cacheDir(root: string): string {
  return path.join(root, SECCOMP_CACHE_DIR);
}

function plausible(bpf: Buffer): boolean {
  return bpf.length > 0 && bpf.length % 8 === 0 && bpf.length / 8 <= MAX_INSNS;
}

// A cache file: the key's length (u32 LE), the key (UTF-8), the filter (sock_filter array).
function readCached(file: string, key: Buffer): Buffer | undefined {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  if (data.length < 4 || data.readUInt32LE(0) !== key.length || data.length < 4 + key.length) return undefined;
  if (!data.subarray(4, 4 + key.length).equals(key)) return undefined; // another key with this name
  const bpf = data.subarray(4 + key.length);
  return plausible(bpf) ? bpf : undefined;
}

/** Temp file + rename: a reader sees no file or the whole file, never part of one. */
function writeCached(file: string, key: Buffer, bpf: Buffer): boolean {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`;
  const length = Buffer.alloc(4);
  length.writeUInt32LE(key.length);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(tmp, Buffer.concat([length, key, bpf]), { mode: 0o600 });
    fs.renameSync(tmp, file);
    return true;
  } catch {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      /* the directory itself is unusable: nothing was written */
    }
    return false;
  }
}

/** The filter for `input`: from the cache, or compiled (and stored) with `compile`. */
export function compileCached(
  root: string,
  input: SeccompCompileInput,
  lib: Pick<SeccompLibInfo, 'version'>,
  compile: (input: SeccompCompileInput) => Buffer,
): CachedCompile {
  const t0 = process.hrtime.bigint();
  const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
  const key = Buffer.from(cacheKey(input, lib));
  const file = path.join(cacheDir(root), cacheFileName(key));
  const hit = readCached(file, key);
  if (hit) return { bpf: hit, cached: true, file, ms: ms() };
  const bpf = compile(input);
  const stored = plausible(bpf) && writeCached(file, key, bpf);
  return { bpf, cached: false, file: stored ? file : undefined, ms: ms() };
}
