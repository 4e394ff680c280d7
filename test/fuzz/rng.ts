/** A small seeded PRNG (mulberry32): the same seed gives the same cases, so a failure replays. */
export class Rng {
  private s: number;
  constructor(readonly seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** TSOCI_FUZZ_SEED, or a fresh one (printed by the tests so a failure can be replayed). */
export function fuzzSeed(): number {
  const env = process.env.TSOCI_FUZZ_SEED;
  return env ? Number(env) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
}
