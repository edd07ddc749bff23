/** Shared pieces of the lifecycle unit tests. */
import { parsePipelineSpec } from '../../../lifecycle/spec';
import type { TrainingSpec } from '../../../lifecycle/train';

/** The input columns of Friedman #1 (`friedman1`): x0..x4 matter, x5..x7 are noise. */
export const FRIEDMAN_FEATURES = Array.from({ length: 8 }, (_, j) => `x${j}`);

/** A parsed spec (every default filled in as in production), with the given parts changed. */
export function specOf(parts: Record<string, unknown>): TrainingSpec {
  return parsePipelineSpec({
    name: 'friedman',
    description: 'Friedman #1 for tests',
    task: 'regression',
    source: { kind: 'table', table: 'friedman' },
    target: 'y',
    features: FRIEDMAN_FEATURES.map((name) => ({ name, kind: 'numeric' })),
    split: { kind: 'ordered', testFraction: 0.2 },
    trainer: { kind: 'gbdt', params: { iterations: 30 } },
    approval: { approvers: ['shop-manager'], deadline: '72h' },
    deploy: { strategy: 'replace' },
    ...parts,
  });
}
