import { describe, expect, it } from 'vitest';
import { prepareDataLike, prepareTrainingData } from '../../../../ml/dataset';
import { CATEGORY_SMOOTHING } from '../../../../ml/categoryOrder';
import {
  bestCategorySplit,
  CATEGORY_L2,
  MAX_CATEGORIES_LEFT,
  MIN_ROWS_PER_CATEGORY,
} from '../../../../ml/gbdt/categorical';
import { predictGbdt, trainGbdt } from '../../../../ml/gbdt';
import { rmse } from '../../../../ml/metrics';
import { Random } from '../../../../ml/random';
import { categoricalFromLabels, numericFromValues, Table } from '../../../../ml/table';

const PARAMS = { l2: 0, minSamplesLeaf: 1, minHessianLeaf: 0, minGain: 0 };

/** A [grad, count] histogram (unit hessians) of value bins, then an empty missing bin. */
function histogram(bins: [number, number][]): Float64Array {
  return Float64Array.from([...bins.flat(), 0, 0]);
}

function sums(bins: [number, number][]) {
  const grad = bins.reduce((total, [g]) => total + g, 0);
  const count = bins.reduce((total, [, c]) => total + c, 0);
  return { grad, hess: count, count };
}

describe('bestCategorySplit', () => {
  it('tries each category alone against the rest when there are few', () => {
    // Mean gradients 1, -4, 1, 1: the second category alone is the split.
    const bins: [number, number][] = [
      [10, 10],
      [-40, 10],
      [10, 10],
      [10, 10],
    ];
    const split = bestCategorySplit(histogram(bins), 0, 2, 4, 3, sums(bins), PARAMS, 0);
    expect(split && Array.from(split.leftBins)).toEqual([0, 1, 0, 0]);
    expect(split).toMatchObject({
      feature: 3,
      missingLeft: false,
      leftGrad: -40,
      leftCount: 10,
      rightCount: 30,
    });
    // G_L²/H_L + G_R²/H_R − G²/H, L2 0.
    expect(split?.gain).toBeCloseTo(1600 / 10 + 900 / 30 - 100 / 40, 9);
  });

  it('sorts many categories by gradient ratio and takes a set from either end, paying CATEGORY_L2', () => {
    // Codes 0..5 with mean gradients +2, -3, +2, -3, 0, +2: codes 1 and 3 together, not a code range.
    const means = [2, -3, 2, -3, 0, 2];
    const bins = means.map((mean): [number, number] => [mean * 40, 40]);
    const split = bestCategorySplit(histogram(bins), 0, 2, 6, 0, sums(bins), PARAMS, 0);
    expect(split && Array.from(split.leftBins)).toEqual([0, 1, 0, 1, 0, 0]);
    const total = sums(bins);
    const gain =
      (-240) ** 2 / (80 + CATEGORY_L2) +
      (total.grad + 240) ** 2 / (160 + CATEGORY_L2) -
      total.grad ** 2 / 240;
    expect(split?.gain).toBeCloseTo(gain, 9);
    // A threshold split's gain at or above it wins: null.
    expect(bestCategorySplit(histogram(bins), 0, 2, 6, 0, total, PARAMS, gain)).toBeNull();
  });

  it('leaves rare categories out of the sorted search and respects minSamplesLeaf', () => {
    const bins: [number, number][] = [
      [-90, 3],
      [40, 40],
      [-40, 40],
      [40, 40],
      [-40, 40],
      [0, 40],
    ];
    const split = bestCategorySplit(histogram(bins), 0, 2, 6, 0, sums(bins), PARAMS, 0);
    // Code 0 has 3 rows (fewer than MIN_ROWS_PER_CATEGORY): it stays right whatever its gradients.
    expect(split?.leftBins[0]).toBe(0);
    expect(
      bestCategorySplit(histogram(bins), 0, 2, 6, 0, sums(bins), { ...PARAMS, minSamplesLeaf: 200 }, 0),
    ).toBeNull();
  });
  it('finds the best prefix of the ratio order from either end, among up to 300 categories', () => {
    // The search as a direct reading of its definition: candidates sorted with Array#sort, every
    // prefix from each end scored; the search must agree on the set and the gain.
    const random = new Random(11);
    const score = (g: number, h: number, l2: number) => (h + l2 > 0 ? (g * g) / (h + l2) : 0);
    for (let trial = 0; trial < 200; trial++) {
      const valueBins = 5 + random.below(trial < 100 ? 40 : 300);
      const bins: [number, number][] = [];
      for (let bin = 0; bin < valueBins; bin++) {
        // A third repeat an earlier category's sums: equal ratios, so ties decide the order too.
        const earlier = bins[random.below(Math.max(1, bin))];
        if (earlier && random.below(3) === 0) {
          bins.push([earlier[0], earlier[1]]);
          continue;
        }
        const count = random.below(4) === 0 ? random.below(MIN_ROWS_PER_CATEGORY) : random.below(200);
        bins.push([(random.next() * 4 - 2) * count, count]);
      }
      const node = sums(bins);
      const params = { ...PARAMS, minSamplesLeaf: 1 + random.below(50) };
      const found = bestCategorySplit(histogram(bins), 0, 2, valueBins, 0, node, params, 0);

      const present = bins.flatMap(([, count], bin) => (count > 0 ? [bin] : []));
      let best: { gain: number; set: number[] } | null = null;
      if (present.length > 4) {
        const gradOf = (bin: number) => (bins[bin] as [number, number])[0];
        const countOf = (bin: number) => (bins[bin] as [number, number])[1];
        const ratio = (bin: number) => gradOf(bin) / (countOf(bin) + CATEGORY_SMOOTHING);
        const order = present
          .filter((bin) => countOf(bin) >= MIN_ROWS_PER_CATEGORY)
          .sort((a, b) => ratio(a) - ratio(b) || a - b);
        const maxLeft = Math.min(MAX_CATEGORIES_LEFT, Math.floor((order.length + 1) / 2));
        const parent = score(node.grad, node.hess, 0);
        for (const fromLow of [true, false]) {
          for (let k = 1; k <= Math.min(maxLeft, order.length); k++) {
            const set = fromLow ? order.slice(0, k) : order.slice(order.length - k);
            const g = set.reduce((total, bin) => total + gradOf(bin), 0);
            const c = set.reduce((total, bin) => total + countOf(bin), 0);
            if (c < params.minSamplesLeaf) continue;
            if (node.count - c < params.minSamplesLeaf) break;
            const l2 = CATEGORY_L2;
            const gain = score(g, c, l2) + score(node.grad - g, node.hess - c, l2) - parent;
            if (gain > (best?.gain ?? 0)) best = { gain, set };
          }
        }
      }
      if (present.length <= 4) continue;
      if (!best) {
        expect(found).toBeNull();
        continue;
      }
      const left = new Uint8Array(valueBins);
      for (const bin of best.set) left[bin] = 1;
      expect(found && Array.from(found.leftBins)).toEqual(Array.from(left));
      expect(found?.gain).toBe(best.gain);
    }
  });
});

describe('category splits in training', () => {
  it('learns an interaction no order of the codes can split, and predicts it through the model', () => {
    // Half the materials cut slowly on thick plate, the other half on thin: no single order of the
    // codes puts either half together below a threshold at every depth.
    const random = new Random(3);
    const materials = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const slowWhenThick = new Set(['a', 'd', 'f', 'g']);
    const make = (n: number) => {
      const material: string[] = [];
      const thick: number[] = [];
      const minutes: number[] = [];
      for (let i = 0; i < n; i++) {
        const m = materials[random.below(materials.length)] as string;
        const t = random.next();
        material.push(m);
        thick.push(t);
        minutes.push((slowWhenThick.has(m) === t > 0.5 ? 10 : 0) + 0.1 * random.next());
      }
      return new Table([
        categoricalFromLabels('material', material),
        numericFromValues('thickness', thick),
        numericFromValues('minutes', minutes),
      ]);
    };
    const train = prepareTrainingData(make(4000), {
      target: 'minutes',
      features: ['material', 'thickness'],
      task: 'regression',
    });
    const test = prepareDataLike(make(1000), train, 'minutes');
    const options = { iterations: 20, maxLeaves: 4, learningRate: 0.5 };
    const withSets = trainGbdt(train, options);
    const withoutSets = trainGbdt(train, { ...options, categorySplits: false });
    expect(withSets.trees.some((tree) => tree.leftCategories?.some((codes) => codes !== null))).toBe(true);
    expect(withoutSets.trees.every((tree) => tree.leftCategories === undefined)).toBe(true);
    const error = rmse(test.target, predictGbdt(withSets, test));
    // Seeded: 0.23 with category splits, 0.76 without (targets 0 or 10).
    expect(error).toBeLessThan(0.3);
    expect(rmse(test.target, predictGbdt(withoutSets, test))).toBeGreaterThan(3 * error);
  });
});
