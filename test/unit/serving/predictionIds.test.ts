import { describe, expect, it } from 'vitest';
import { newPredictionId } from '../../../serving/predictionIds';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The milliseconds a version 7 id holds in its first 48 bits. */
const millisecondsOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('newPredictionId', () => {
  it('is a UUID version 7 holding the millisecond it was served', () => {
    for (const servedAt of [0, 1, Date.UTC(2026, 11, 7, 23, 59, 59, 999), 2 ** 48 - 1]) {
      const id = newPredictionId(servedAt);
      expect(id).toMatch(V7);
      expect(millisecondsOf(id)).toBe(servedAt);
    }
  });

  it('sorts by serving time, and never repeats within a millisecond', () => {
    const start = Date.UTC(2026, 0, 1);
    const ids: string[] = [];
    // Past one pool of random bytes, so refills are covered.
    for (let i = 0; i < 3000; i++) ids.push(newPredictionId(start + Math.floor(i / 1000)));
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1000; i < ids.length; i += 1000) {
      expect((ids[i - 1] as string) < (ids[i] as string)).toBe(true);
    }
  });

  it('spreads its random bits: every hex digit of the random part takes many values', () => {
    const ids = Array.from({ length: 2000 }, () => newPredictionId(1_700_000_000_000));
    const randomDigits = ids.map((id) => id.replace(/-/g, '').slice(13));
    for (let position = 0; position < 19; position++) {
      const seen = new Set(randomDigits.map((digits) => digits[position]));
      // The variant digit holds 2 random bits (8, 9, a, b); the others 4.
      expect(seen.size).toBe(position === 3 ? 4 : 16);
    }
  });
});
