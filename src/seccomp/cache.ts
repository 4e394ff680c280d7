/**
 * A content-addressed cache of compiled seccomp filters: `<root>/.seccomp-cache/<sha256>.bpf`.
 *
 * Compiling podman's default profile with libseccomp costs ~80 ms; every container of a
 * pod (and every exec) uses the same profile. The key covers the compile input, the
 * libseccomp version and the machine, so an upgraded libseccomp never serves a stale filter.
 * Writers are safe against each other: each writes its own temp file and renames it into
 * place (rename is atomic; the same key always means the same bytes). The directory name
 * starts with a dot: `list`, the id check and the test leak check never take it for a container.
 * The cache is an optimisation only: when it cannot be read or written, tsoci compiles.
 */
import { crypto } from '../util/lazy';
import * as fs from 'fs';
import * as path from 'path';
import { canonicalInput, type SeccompCompileInput, type SeccompLibInfo } from './profile';

export const SECCOMP_CACHE_DIR = '.seccomp-cache';
const FORMAT = 'tsoci-seccomp-bpf-1';
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

export function cacheKey(input: SeccompCompileInput, lib: Pick<SeccompLibInfo, 'version'>): string {
  return crypto().createHash('sha256').update(`${FORMAT}\n${lib.version}\n${process.arch}\n${canonicalInput(input)}`).digest('hex');
}

export function cacheDir(root: string): string {
  return path.join(root, SECCOMP_CACHE_DIR);
}

function plausible(bpf: Buffer): boolean {
  return bpf.length > 0 && bpf.length % 8 === 0 && bpf.length / 8 <= MAX_INSNS;
}

function readCached(file: string): Buffer | undefined {
  try {
    const bpf = fs.readFileSync(file);
    return plausible(bpf) ? bpf : undefined;
  } catch {
    return undefined;
  }
}

/** Temp file + rename: a reader sees no file or the whole file, never part of one. */
function writeCached(file: string, bpf: Buffer): boolean {
  const tmp = `${file}.${process.pid}.${crypto().randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(tmp, bpf, { mode: 0o600 });
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
  const file = path.join(cacheDir(root), `${cacheKey(input, lib)}.bpf`);
  const hit = readCached(file);
  if (hit) return { bpf: hit, cached: true, file, ms: ms() };
  const bpf = compile(input);
  const stored = plausible(bpf) && writeCached(file, bpf);
  return { bpf, cached: false, file: stored ? file : undefined, ms: ms() };
}
