/**
 * The ML core's seeded PRNG and the sampling helpers the trainer needs. Our own generator (not
 * Math.random) so that the same seed gives the same model on every machine and Node version.
 */

/** mulberry32: 32-bit state, fast, good enough statistical quality for sampling rows and columns. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/**
 * A generator for one purpose (binning, row sampling, ...) derived from the user's seed, so that
 * changing how many numbers one purpose draws does not shift the others.
 */
export function streamFor(seed: number, purpose: number): Random {
  // splitmix-style mixing of (seed, purpose) into a 32-bit state.
  let h = (Math.trunc(seed) ^ Math.imul(purpose + 1, 0x9e3779b9)) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return new Random(h ^ (h >>> 16));
}

/** Exactly `k` of the indices 0..n-1, uniformly, in increasing order (Knuth's selection sampling). */
export function sampleSortedIndices(n: number, k: number, random: Random): Uint32Array {
  if (k >= n) {
    const all = new Uint32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    return all;
  }
  const out = new Uint32Array(k);
  let chosen = 0;
  for (let i = 0; i < n && chosen < k; i++) {
    if ((n - i) * random.next() < k - chosen) out[chosen++] = i;
  }
  return out;
}

/**
 * Keeps each index 0..n-1 with probability `rate`, writing the kept ones in increasing order into
 * `out`; returns how many. Draws one number per kept row (geometric skips), not one per row.
 */
export function bernoulliSample(n: number, rate: number, random: Random, out: Uint32Array): number {
  if (rate >= 1) {
    for (let i = 0; i < n; i++) out[i] = i;
    return n;
  }
  const logMiss = Math.log1p(-rate);
  let count = 0;
  let i = -1;
  for (;;) {
    // Gap to the next kept row ~ Geometric(rate); 1 - next() is in (0, 1] so the log is finite.
    i += 1 + Math.floor(Math.log(1 - random.next()) / logMiss);
    if (i >= n) return count;
    out[count++] = i;
  }
}

/** `k` distinct values of `items`, chosen uniformly, kept in their original order. */
export function chooseSubset(items: ArrayLike<number>, k: number, random: Random): number[] {
  const picked = sampleSortedIndices(items.length, k, random);
  return Array.from(picked, (index) => items[index] as number);
}
