/**
 * Drawing a search's trials from the spec's `tuning.space`: seeded, so the same spec draws the same
 * trials on every machine. Trial 0 is the spec's own parameters, so the search can only do better
 * than the untuned model on its folds.
 */
import { streamFor } from '../../ml/random';
import type { ParamSpace } from '../spec/tuning';
import type { TrialParams, TrialPlan } from './halving';

/** The random streams of the draws start here, away from the trainers' (1-3) and the split's (101). */
const DRAW_STREAMS = 1000;

/** FNV-1a of a parameter's name: each parameter draws from a stream of its own. */
function nameHash(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** Drawn values keep this many significant digits: readable in the card, the same after JSON. */
const DIGITS = 4;

/**
 * `count` trials: the spec's parameters first, then `count - 1` draws. Each parameter draws from a
 * stream of its own, so adding one to the space does not change how another is drawn.
 */
export function drawTrials(
  space: Record<string, ParamSpace>,
  baseParams: TrialParams,
  count: number,
  seed: number,
): TrialPlan[] {
  const names = Object.keys(space).sort();
  const streams = new Map(
    names.map((name) => [name, streamFor(seed, DRAW_STREAMS + (nameHash(name) % 1_000_000))]),
  );
  const trials: TrialPlan[] = [{ trial: 0, params: { ...baseParams } }];
  for (let trial = 1; trial < count; trial++) {
    const params: TrialParams = { ...baseParams };
    for (const name of names) {
      const range = space[name] as ParamSpace;
      const u = (streams.get(name) as ReturnType<typeof streamFor>).next();
      params[name] =
        'values' in range
          ? (range.values[Math.floor(u * range.values.length)] as TrialParams[string])
          : drawNumber(range, u);
    }
    trials.push({ trial, params });
  }
  return trials;
}

function drawNumber(range: Exclude<ParamSpace, { values: unknown }>, u: number): number {
  const value =
    range.scale === 'log'
      ? Math.exp(Math.log(range.min) + u * (Math.log(range.max) - Math.log(range.min)))
      : range.min + u * (range.max - range.min);
  if (range.integer)
    return Math.min(Math.floor(range.max), Math.max(Math.ceil(range.min), Math.round(value)));
  return Math.min(range.max, Math.max(range.min, Number(value.toPrecision(DIGITS))));
}
