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
  leftBins: Uint8Array;
}

/**
 * Per value bin scratch for the search: the candidate bins in their order, their gradient ratios and
 * a merge buffer. One search runs at a time on a thread (the grower searches on its calling thread),
 * so they are reused, and grown only for a feature with more categories than any before.
 */
let order = new Int32Array(256);
let ratios = new Float64Array(256);
let mergeScratch = new Int32Array(256);

function reserveScratch(valueBins: number): void {
  if (order.length >= valueBins) return;
  order = new Int32Array(valueBins);
  ratios = new Float64Array(valueBins);
  mergeScratch = new Int32Array(valueBins);
}

/**
 * The best category split of `feature` on a node, or null when none beats `minGain`.
 *
 * The search is a few small loops over typed arrays, each in a function of its own: a cold fit then
 * runs optimised code after a few nodes instead of dropping back to the interpreter whenever a
 * later branch of one large function runs for the first time.
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
  reserveScratch(valueBins);
  let present = 0;
  for (let bin = 0; bin < valueBins; bin++) {
    if ((hist[first + bin * stride + 1] as number) > 0) order[present++] = bin;
  }
  if (present < 2) return null;
  const search: NodeHistogram = { hist, first, stride, hessAt: stride === 2 ? 1 : 2, node, params };
  const found =
    present <= MAX_ONE_VS_REST
      ? bestOneVsRest(search, present, minGain)
      : bestOrderedSet(search, present, minGain);
  if (found.length === 0) return null;
  // The left set: `length` bins of `order` from its low end, or from its high end.
  const leftBins = new Uint8Array(valueBins);
  for (let k = 0; k < found.length; k++) leftBins[order[found.from + k] as number] = 1;
  return {
    feature,
    bin: -1,
    missingLeft: false,
    gain: found.gain,
    leftGrad: found.grad,
    leftHess: found.hess,
    leftCount: found.count,
    rightGrad: node.grad - found.grad,
    rightHess: node.hess - found.hess,
    rightCount: node.count - found.count,
    leftBins,
  };
}

/** The best left set a search found: `order[from..from+length)` (length 0: none) and its sums. */
interface FoundSet {
  from: number;
  length: number;
  gain: number;
  grad: number;
  hess: number;
  count: number;
}

/** A node's histogram of one feature, as bestCategorySplit was given it. */
interface NodeHistogram {
  hist: Float64Array;
  /** Where the feature's bins start in `hist`. */
  first: number;
  /** Doubles a bin. */
  stride: number;
  /** The hessian sum's place in a bin (the count's, 1, with unit hessians). */
  hessAt: number;
  node: NodeSums;
  params: SplitParams;
}

/** Each of the `present` categories in `order` alone against the rest. */
function bestOneVsRest(search: NodeHistogram, present: number, minGain: number): FoundSet {
  const { hist, first, stride, hessAt, node, params } = search;
  const { l2, minSamplesLeaf, minHessianLeaf } = params;
  const parentScore = score(node.grad, node.hess, l2);
  const found: FoundSet = { from: 0, length: 0, gain: minGain, grad: 0, hess: 0, count: 0 };
  for (let i = 0; i < present; i++) {
    const at = first + (order[i] as number) * stride;
    const c = hist[at + 1] as number;
    const h = hist[at + hessAt] as number;
    if (c < minSamplesLeaf || h < minHessianLeaf) continue;
    if (node.count - c < minSamplesLeaf || node.hess - h < minHessianLeaf) continue;
    const g = hist[at] as number;
    const gain = score(g, h, l2) + score(node.grad - g, node.hess - h, l2) - parentScore;
    if (gain > found.gain) {
      found.from = i;
      found.length = 1;
      found.gain = gain;
      found.grad = g;
      found.hess = h;
      found.count = c;
    }
  }
  return found;
}

/**
 * The categories of `order[0..present)` with at least MIN_ROWS_PER_CATEGORY rows, sorted by gradient
 * ratio, split after the first k from the low end, then from the high end.
 */
function bestOrderedSet(search: NodeHistogram, present: number, minGain: number): FoundSet {
  const { hist, first, stride, hessAt, node, params } = search;
  let length = 0;
  for (let i = 0; i < present; i++) {
    const bin = order[i] as number;
    const at = first + bin * stride;
    if ((hist[at + 1] as number) < MIN_ROWS_PER_CATEGORY) continue;
    order[length++] = bin;
    ratios[bin] = (hist[at] as number) / ((hist[at + hessAt] as number) + CATEGORY_SMOOTHING);
  }
  sortByRatio(length);
  const { minSamplesLeaf, minHessianLeaf } = params;
  const childL2 = params.l2 + CATEGORY_L2;
  const parentScore = score(node.grad, node.hess, params.l2);
  const maxLeft = Math.min(MAX_CATEGORIES_LEFT, Math.floor((length + 1) / 2), length);
  const found: FoundSet = { from: 0, length: 0, gain: minGain, grad: 0, hess: 0, count: 0 };
  // Prefixes of the order from its low end (side 0), then from its high end (side 1).
  for (let side = 0; side < 2; side++) {
    let g = 0;
    let h = 0;
    let c = 0;
    for (let k = 0; k < maxLeft; k++) {
      const at = first + (order[side === 0 ? k : length - 1 - k] as number) * stride;
      g += hist[at] as number;
      c += hist[at + 1] as number;
      h += hist[at + hessAt] as number;
      if (c < minSamplesLeaf || h < minHessianLeaf) continue;
      if (node.count - c < minSamplesLeaf) break;
      if (node.hess - h < minHessianLeaf) break;
      const gain = score(g, h, childL2) + score(node.grad - g, node.hess - h, childL2) - parentScore;
      if (gain > found.gain) {
        found.from = side === 0 ? 0 : length - 1 - k;
        found.length = k + 1;
        found.gain = gain;
        found.grad = g;
        found.hess = h;
        found.count = c;
      }
    }
  }
  return found;
}

/**
 * Sorts `order[0..length)` by ratio, ties by the lower bin: a total order, so the same on every run
 * (a bottom-up merge sort; no comparator closure).
 */
function sortByRatio(length: number): void {
  let from = order;
  let to = mergeScratch;
  for (let width = 1; width < length; width *= 2) {
    for (let low = 0; low < length; low += 2 * width) {
      const middle = Math.min(low + width, length);
      const high = Math.min(low + 2 * width, length);
      let i = low;
      let j = middle;
      let k = low;
      while (i < middle && j < high) {
        to[k++] = before(from[j] as number, from[i] as number)
          ? (from[j++] as number)
          : (from[i++] as number);
      }
      while (i < middle) to[k++] = from[i++] as number;
      while (j < high) to[k++] = from[j++] as number;
    }
    const swap = from;
    from = to;
    to = swap;
  }
  if (from !== order) order.set(from.subarray(0, length));
}

/** Whether bin `a` sorts before bin `b`: a lower ratio, or an equal one and a lower bin. */
function before(a: number, b: number): boolean {
  const difference = (ratios[a] as number) - (ratios[b] as number);
  return difference < 0 || (!(difference > 0) && a < b);
}

/** A side's score G²/(H+penalty) (0 when H+penalty is not positive); module-level, not a per-call closure. */
function score(g: number, h: number, penalty: number): number {
  return h + penalty > 0 ? (g * g) / (h + penalty) : 0;
}
