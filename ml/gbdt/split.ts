/**
 * Splits as the grower uses them, read back from the per-share results of the kernel's split search.
 */
import { RESULT_SIZE } from './histogram';

export interface SplitParams {
  l2: number;
  minSamplesLeaf: number;
  minHessianLeaf: number;
  minGain: number;
}

export interface Split {
  feature: number;
  /** Value bins <= bin go left; -1 sends every present value right (a "missing or not" split). */
  bin: number;
  missingLeft: boolean;
  gain: number;
  leftGrad: number;
  leftHess: number;
  leftCount: number;
  rightGrad: number;
  rightHess: number;
  rightCount: number;
  /**
   * A category split's left set: per value bin of the feature, 1 when its rows go left
   * (categorical.ts); null for a threshold split. Every split has the field, so every split object
   * has one shape and the grower's code that reads them stays monomorphic.
   */
  leftBins: Uint8Array | null;
}

/** Node totals: sums of gradients and hessians and the row count. */
export interface NodeSums {
  grad: number;
  hess: number;
  count: number;
}

/**
 * The best split of search `search` (0 or 1) over the results of a job's `shares` shares, which
 * searched consecutive slices of the features: the first strictly best one, as a single search over
 * every feature would find.
 */
export function mergeSplits(
  results: Float64Array,
  shares: number,
  search: number,
  node: NodeSums,
): Split | null {
  let best = -1;
  let bestGain = -Infinity;
  for (let share = 0; share < shares; share++) {
    const at = (share * 2 + search) * RESULT_SIZE;
    const gain = results[at] as number;
    if (gain > bestGain) {
      bestGain = gain;
      best = at;
    }
  }
  if (best < 0) return null;
  const leftGrad = results[best + 4] as number;
  const leftHess = results[best + 5] as number;
  const leftCount = results[best + 6] as number;
  return {
    feature: results[best + 1] as number,
    bin: results[best + 2] as number,
    missingLeft: results[best + 3] === 1,
    gain: bestGain,
    leftGrad,
    leftHess,
    leftCount,
    rightGrad: node.grad - leftGrad,
    rightHess: node.hess - leftHess,
    rightCount: node.count - leftCount,
    leftBins: null,
  };
}
