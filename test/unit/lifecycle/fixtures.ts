/** Shared pieces of the lifecycle unit tests. */
import type { TrainingSpec } from '../../../lifecycle/train';
import { buildSpec, type SpecInput, specInput } from '../../specBuilder';

/** The input columns of Friedman #1 (`friedman1`): x0..x4 matter, x5..x7 are noise. */
export const FRIEDMAN_FEATURES = Array.from({ length: 8 }, (_, j) => `x${j}`);

/** A spec over the `friedman1` table: y from x0..x7, 30 gbdt rounds so the tests train fast. */
export const friedmanSpec = specInput({
  name: 'friedman',
  description: 'Friedman #1 for tests',
  source: { kind: 'table', table: 'friedman' },
  target: 'y',
  features: FRIEDMAN_FEATURES.map((name) => ({ name, kind: 'numeric' })),
  trainer: { kind: 'gbdt', params: { iterations: 30 } },
});

/** The parsed Friedman spec (every default filled in as in production), with the given parts changed. */
export function specOf(overrides: SpecInput): TrainingSpec {
  return buildSpec(overrides, friedmanSpec);
}
