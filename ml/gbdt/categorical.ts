/**
 * Category splits: a node may send any set of a categorical feature's categories left, not only
 * those below a code. The order training gives the codes (ml/categoryOrder.ts) suits the root; deeper
 * down another feature has changed which categories are alike (stainless and titanium cut slowly on
 * thick plate, aluminium does not), and a set split finds that. This is LightGBM's categorical split:
 *
 * - with at most MAX_ONE_VS_REST categories on the node, each category alone against the rest;
 * - else the categories holding at least MIN_ROWS_PER_CATEGORY rows, sorted by
 *   sum of gradients / (sum of hessians + CATEGORY_SMOOTHING, categoryOrder.ts's cat_smooth), split after the first k of that order
 *   from either end, k up to MAX_CATEGORIES_LEFT, the children's gain taken with CATEGORY_L2 more L2
 *   (a set split has more freedom than a threshold, and pays for it).
 *
 * Missing values, categories too rare to be candidates and categories the model never saw go right.
 * The grower takes a category split only when its gain beats every threshold split's strictly; it
 * searches on the calling thread, from the node's histogram, so the model does not depend on the
 * thread count.
 */
import { CATEGORY_SMOOTHING } from '../categoryOrder';
import type { NodeSums, Split, SplitParams } from './split';

export const MAX_ONE_VS_REST = 4;
export const MAX_CATEGORIES_LEFT = 32;
export const CATEGORY_L2 = 10;
export const MIN_ROWS_PER_CATEGORY = 10;

/** A split whose left side is a set of value bins (one bin per category code). */
export interface CategorySplit extends Split {
  /** Per value bin of the feature: 1 when its rows go left. */
  leftBins: Uint8Array;
}

/**
 * The best category split of `feature` on a node, or null when none beats `minGain`.
 *
 * @param hist histograms; the feature's bins start at `first` with `stride` doubles each
 *   ([grad, count] when unit hessians, else [grad, count, hess])
 * @param valueBins the feature's value bins (its categories); the missing bin follows them
 */
export function bestCategorySplit(
  hist: Float64Array,
  first: number,
  stride: number,
  valueBins: number,
  feature: number,
  node: NodeSums,
  params: SplitParams,
  minGain: number,
): CategorySplit | null {
  const hessAt = stride === 2 ? 1 : 2;
  const { l2, minSamplesLeaf, minHessianLeaf } = params;
  const parentScore = score(node.grad, node.hess, l2);
  const present: number[] = [];
  for (let bin = 0; bin < valueBins; bin++) {
    if ((hist[first + bin * stride + 1] as number) > 0) present.push(bin);
  }
  if (present.length < 2) return null;
  const oneVsRest = present.length <= MAX_ONE_VS_REST;
  let bestGain = minGain;
  let best: { bins: number[]; g: number; h: number; c: number } | null = null;
  if (oneVsRest) {
    // Each category alone against the rest.
    for (const bin of present) {
      const at = first + bin * stride;
      const c = hist[at + 1] as number;
      const h = hist[at + hessAt] as number;
      if (c < minSamplesLeaf || h < minHessianLeaf) continue;
      if (node.count - c < minSamplesLeaf || node.hess - h < minHessianLeaf) continue;
      const g = hist[at] as number;
      const gain = score(g, h, l2) + score(node.grad - g, node.hess - h, l2) - parentScore;
      if (gain > bestGain) {
        bestGain = gain;
        best = { bins: [bin], g, h, c };
      }
    }
  } else {
    const sorted = present.filter(
      (bin) => (hist[first + bin * stride + 1] as number) >= MIN_ROWS_PER_CATEGORY,
    );
    const ratios = new Float64Array(valueBins);
    for (const bin of sorted) {
      const at = first + bin * stride;
      ratios[bin] = (hist[at] as number) / ((hist[at + hessAt] as number) + CATEGORY_SMOOTHING);
    }
    // Ties keep the lower bin first: the same order on every run.
    sorted.sort((a, c) => (ratios[a] as number) - (ratios[c] as number) || a - c);
    const childL2 = l2 + CATEGORY_L2;
    const maxLeft = Math.min(MAX_CATEGORIES_LEFT, Math.floor((sorted.length + 1) / 2));
    // Prefixes of the order from its low end, then from its high end.
    for (const fromLow of [true, false]) {
      let g = 0;
      let h = 0;
      let c = 0;
      for (let k = 0; k < Math.min(maxLeft, sorted.length); k++) {
        const at = first + (sorted[fromLow ? k : sorted.length - 1 - k] as number) * stride;
        g += hist[at] as number;
        c += hist[at + 1] as number;
        h += hist[at + hessAt] as number;
        if (c < minSamplesLeaf || h < minHessianLeaf) continue;
        if (node.count - c < minSamplesLeaf) break;
        if (node.hess - h < minHessianLeaf) break;
        const gain = score(g, h, childL2) + score(node.grad - g, node.hess - h, childL2) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          best = {
            bins: fromLow ? sorted.slice(0, k + 1) : sorted.slice(sorted.length - 1 - k).reverse(),
            g,
            h,
            c,
          };
        }
      }
    }
  }
  if (!best) return null;
  const leftBins = new Uint8Array(valueBins);
  for (const bin of best.bins) leftBins[bin] = 1;
  return {
    feature,
    bin: -1,
    missingLeft: false,
    gain: bestGain,
    leftGrad: best.g,
    leftHess: best.h,
    leftCount: best.c,
    rightGrad: node.grad - best.g,
    rightHess: node.hess - best.h,
    rightCount: node.count - best.c,
    leftBins,
  };
}

/** A side's score G²/(H+penalty) (0 when H+penalty is not positive); module-level, not a per-call closure. */
function score(g: number, h: number, penalty: number): number {
  return h + penalty > 0 ? (g * g) / (h + penalty) : 0;
}

/**
 * Stable partition of `rows[start..start+count)` by a category split: rows whose bin of the split's
 * feature is marked in `leftBins` first. `binOf(row)` reads that bin. `payloads` (gradients, and
 * hessians when not unit) move with their rows; each has its scratch array beside it. Returns the
 * rows going left.
 */
export function partitionByCategories(
  rows: Uint32Array,
  rowScratch: Uint32Array,
  payloads: readonly (readonly [Float64Array, Float64Array])[],
  start: number,
  count: number,
  leftBins: Uint8Array,
  binOf: (row: number) => number,
): number {
  let left = start;
  let right = 0;
  const end = start + count;
  for (let i = start; i < end; i++) {
    const row = rows[i] as number;
    if (leftBins[binOf(row)] === 1) {
      rows[left] = row;
      for (const [values] of payloads) values[left] = values[i] as number;
      left++;
    } else {
      rowScratch[right] = row;
      for (const [values, scratch] of payloads) scratch[right] = values[i] as number;
      right++;
    }
  }
  rows.set(rowScratch.subarray(0, right), left);
  for (const [values, scratch] of payloads) values.set(scratch.subarray(0, right), left);
  return left - start;
}
