/**
 * The folds a tuning trial is scored on, from the training rows only (the test rows stay unseen until
 * the evaluate stage). Rows in time order get an expanding window over their newer half: the rows
 * are cut into `2 * folds` blocks, and fold i trains on every block before block `folds + i` and is
 * scored on that block, so a trial is never scored on rows older than the ones it learnt from, and
 * learns from at least half the rows, as the final model will learn from all of them. Other rows
 * get a seeded k-fold.
 */
import { streamFor } from '../../ml/random';

export interface Fold {
  train: Uint32Array;
  score: Uint32Array;
}

/** The random stream of the k-fold shuffle, away from the trainers', the split's and the draws'. */
const FOLD_STREAM = 212;

/** Fewest rows a fold's training or scoring part may have. */
export const MIN_FOLD_ROWS = 10;

/** The folds could not be cut: too few training rows for the folds the spec asks for. */
export class FoldError extends Error {
  readonly nonRetryable = true;

  constructor(message: string) {
    super(message);
    this.name = 'FoldError';
  }
}

/**
 * Cuts `rows` (table row indices, ascending; in time order when `ordered`) into `folds` folds.
 *
 * @throws FoldError when a fold would get fewer than {@link MIN_FOLD_ROWS} rows in either part
 */
export function tuningFolds(rows: Uint32Array, folds: number, ordered: boolean, seed: number): Fold[] {
  const blocks = ordered ? 2 * folds : folds;
  if (Math.floor(rows.length / blocks) < MIN_FOLD_ROWS) {
    throw new FoldError(
      `tuning.folds: ${folds} folds of ${rows.length} training rows leave fewer than ${MIN_FOLD_ROWS} rows per block; ` +
        'ask for fewer folds or bring more rows.',
    );
  }
  const edge = (block: number) => Math.round((rows.length * block) / blocks);
  if (ordered) {
    return Array.from({ length: folds }, (_, fold) => ({
      train: rows.slice(0, edge(folds + fold)),
      score: rows.slice(edge(folds + fold), edge(folds + fold + 1)),
    }));
  }
  const shuffled = rows.slice();
  const random = streamFor(seed, FOLD_STREAM);
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = random.below(i + 1);
    const held = shuffled[i] as number;
    shuffled[i] = shuffled[j] as number;
    shuffled[j] = held;
  }
  return Array.from({ length: folds }, (_, fold) => {
    const score = shuffled.slice(edge(fold), edge(fold + 1)).sort();
    const train = Uint32Array.from([
      ...shuffled.slice(0, edge(fold)),
      ...shuffled.slice(edge(fold + 1)),
    ]).sort();
    return { train, score };
  });
}

/**
 * The rows a trial trains on with `fraction` of the budget, for a trainer without boosting rounds:
 * the newest share of the fold's training rows when they are in time order, else its first share.
 */
export function rowsFor(train: Uint32Array, fraction: number, ordered: boolean): Uint32Array {
  const count = Math.max(MIN_FOLD_ROWS, Math.round(train.length * fraction));
  if (count >= train.length) return train;
  return ordered ? train.slice(train.length - count) : train.slice(0, count);
}
