/**
 * Ranges of numbers in the derived-feature expression language: bounds a value is sure to lie
 * within, by interval arithmetic. They are how the checker proves a divisor is never zero.
 */

/** Bounds a number is sure to lie within (missing values aside); infinite when unknown. */
export interface ValueRange {
  lo: number;
  hi: number;
}

/** Any number at all. */
export const ANY: ValueRange = { lo: -Infinity, hi: Infinity };
/** A condition: 0 (false) or 1 (true). */
export const CONDITION: ValueRange = { lo: 0, hi: 1 };

// Interval arithmetic that stays conservative around infinities (0 * Infinity counts as 0).
export const product = (a: number, b: number) => (a === 0 || b === 0 ? 0 : a * b);
export function hull(...bounds: number[]): ValueRange {
  if (bounds.some((bound) => Number.isNaN(bound))) return ANY;
  return { lo: Math.min(...bounds), hi: Math.max(...bounds) };
}
export const mayBeZero = (range: ValueRange) => range.lo <= 0 && range.hi >= 0;
export function quotient(a: ValueRange, b: ValueRange): ValueRange {
  return hull(a.lo / b.lo, a.lo / b.hi, a.hi / b.lo, a.hi / b.hi);
}
