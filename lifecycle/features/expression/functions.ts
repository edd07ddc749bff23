/** The derived-feature expression language's functions: how each is called, and the ranges of the date parts. */
import type { ValueRange } from './ranges';

/** How each function is called, for arity messages and "did you mean". */
export const FUNCTIONS: Readonly<Record<string, { usage: string; min: number; max: number }>> = {
  log: { usage: 'log(x)', min: 1, max: 1 },
  log1p: { usage: 'log1p(x)', min: 1, max: 1 },
  sqrt: { usage: 'sqrt(x)', min: 1, max: 1 },
  abs: { usage: 'abs(x)', min: 1, max: 1 },
  clip: { usage: 'clip(x, low, high)', min: 3, max: 3 },
  min: { usage: 'min(a, b, ...)', min: 2, max: 16 },
  max: { usage: 'max(a, b, ...)', min: 2, max: 16 },
  if: { usage: 'if(condition, then, else)', min: 3, max: 3 },
  safe_div: { usage: 'safe_div(a, b)', min: 2, max: 2 },
  hour: { usage: 'hour(time)', min: 1, max: 1 },
  dayofweek: { usage: 'dayofweek(time)', min: 1, max: 1 },
  week: { usage: 'week(time)', min: 1, max: 1 },
  month: { usage: 'month(time)', min: 1, max: 1 },
  days_since: { usage: 'days_since(time, "2020-01-01" or other_time)', min: 2, max: 2 },
};

export const DATE_PART_RANGES: Readonly<Record<string, ValueRange>> = {
  hour: { lo: 0, hi: 23 },
  dayofweek: { lo: 1, hi: 7 },
  week: { lo: 1, hi: 53 },
  month: { lo: 1, hi: 12 },
};
