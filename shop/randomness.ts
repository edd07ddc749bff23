/**
 * Seeded randomness for the generator: one small generator per thing (a job, a part, a shift), so a
 * thing depends only on the seed and its id, never on how many numbers were drawn before it.
 */
import { Random } from '../ml/random';

// Streams of randomness, one per kind of thing, so that adding draws to one does not shift another.
export const STREAM_JOB = 1;
export const STREAM_PART = 2;
export const STREAM_SHIFT = 3;
export const STREAM_CUSTOMER = 4;
/** Order intake: customers' demand profiles, their project weeks and their order lines per day. */
export const STREAM_ORDER_INTAKE = 5;

/** A generator for one thing (a job, a part, a shift) of a seeded shop. */
export function entityRandom(seed: number, stream: number, id: number): Random {
  let h = Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(stream, 0x85ebca77) ^ Math.imul(id | 0, 0xc2b2ae3d);
  h ^= Math.trunc(id / 4294967296);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  const random = new Random(h);
  random.next();
  return random;
}

/** Standard normal draw (Box-Muller). */
export function gaussian(random: Random): number {
  const u = 1 - random.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.next());
}

export function lognormal(random: Random, median: number, sigma: number): number {
  return median * Math.exp(sigma * gaussian(random));
}

export function pick<T>(random: Random, items: readonly T[]): T {
  return items[random.below(items.length)] as T;
}
