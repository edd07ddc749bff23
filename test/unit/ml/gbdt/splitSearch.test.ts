import { describe, expect, it } from 'vitest';
import { instantiateKernel, KernelArena, kernelModule } from '../../../../ml/gbdt/kernel';
import {
  FEATURES_PER_PASS,
  maxShares,
  PASS_MIN_ROWS,
  SHARES_PER_THREAD,
  sharesFor,
} from '../../../../ml/gbdt/histogram';
import { Random } from '../../../../ml/random';

/**
 * The kernel's split search and histogram subtraction against a reference written plainly here:
 * every threshold of every feature, missing values on either side, the first strictly best kept.
 */

interface Params {
  l2: number;
  minSamplesLeaf: number;
  minHessianLeaf: number;
  minGain: number;
}

/** Features' bins: value bins then the missing bin, each [grad, count] or [grad, count, hess]. */
type FeatureBins = number[][];

const score = (g: number, h: number, l2: number) => (h + l2 > 0 ? (g * g) / (h + l2) : 0);

function referenceSplit(features: FeatureBins[], stride: number, params: Params) {
  const hessOf = (bin: number[]) => (stride === 2 ? (bin[1] as number) : (bin[2] as number));
  const first = features[0] as FeatureBins;
  const totalG = first.reduce((sum, bin) => sum + (bin[0] as number), 0);
  const totalC = first.reduce((sum, bin) => sum + (bin[1] as number), 0);
  const totalH = first.reduce((sum, bin) => sum + hessOf(bin), 0);
  const { l2, minSamplesLeaf, minHessianLeaf, minGain } = params;
  const parent = score(totalG, totalH, l2);
  let best = { gain: minGain, feature: -1, bin: 0, missingLeft: 0, g: 0, h: 0, c: 0 };
  let found = false;
  for (const [feature, bins] of features.entries()) {
    const missing = bins[bins.length - 1] as number[];
    const [mG, mC] = missing as [number, number];
    const mH = hessOf(missing);
    let improved = false;
    for (let bin = -1; bin < bins.length - 2; bin++) {
      // Left: value bins 0..bin (skipping thresholds right after an empty bin).
      if (bin >= 0 && (bins[bin] as number[])[1] === 0) continue;
      let lG = 0;
      let lH = 0;
      let lC = 0;
      for (let b = 0; b <= bin; b++) {
        const values = bins[b] as number[];
        if (values[1] === 0) continue;
        lG += values[0] as number;
        lH += hessOf(values);
        lC += values[1] as number;
      }
      if (bin >= 0 && totalC - lC < minSamplesLeaf) break;
      const sides: [number, number, number, number][] = [[lG, lH, lC, 0]];
      if (mC > 0) sides.push([lG + mG, lH + mH, lC + mC, 1]);
      for (const [g, h, c, missingLeft] of sides) {
        const enough =
          c >= minSamplesLeaf &&
          (missingLeft === 0 || totalC - c >= minSamplesLeaf) &&
          h >= minHessianLeaf &&
          totalH - h >= minHessianLeaf;
        if (!enough) continue;
        const gain = score(g, h, l2) + score(totalG - g, totalH - h, l2) - parent;
        if (gain > best.gain) {
          best = { gain, feature, bin, missingLeft, g, h, c };
          found = true;
          improved = true;
        }
      }
    }
    if (improved && mC === 0) best.missingLeft = best.c >= totalC - best.c ? 1 : 0;
  }
  return {
    totals: [totalG, totalH, totalC] as const,
    result: [found ? best.gain : -Infinity, best.feature, best.bin, best.missingLeft, best.g, best.h, best.c],
  };
}

/** A random node: `features` features sharing the node's rows, some bins empty, some rows missing. */
function randomNode(random: Random, features: number, stride: number): FeatureBins[] {
  const rows = Array.from({ length: 5 + Math.floor(random.next() * 60) }, () => ({
    grad: Math.round((random.next() - 0.5) * 40) / 4,
    hess: stride === 2 ? 1 : Math.round(random.next() * 8) / 8,
  }));
  return Array.from({ length: features }, () => {
    const valueBins = 1 + Math.floor(random.next() * 9);
    const missingShare = random.next() < 0.4 ? 0 : random.next() * 0.5;
    const bins = Array.from({ length: valueBins + 1 }, () => (stride === 2 ? [0, 0] : [0, 0, 0]));
    for (const row of rows) {
      const bin = random.next() < missingShare ? valueBins : Math.floor(random.next() ** 2 * valueBins);
      const values = bins[bin] as number[];
      values[0] = (values[0] as number) + row.grad;
      values[1] = (values[1] as number) + 1;
      if (stride === 3) values[2] = (values[2] as number) + row.hess;
    }
    return bins;
  });
}

/** The kernel on a fresh memory holding one node's histogram and the search's inputs. */
function kernelWith(features: FeatureBins[], stride: number) {
  const totalBins = features.reduce((sum, bins) => sum + bins.length, 0);
  const arena = new KernelArena();
  const at = {
    hist: arena.reserve(totalBins * stride * 8 * 2),
    featureList: arena.reserve(features.length * 4),
    binOffset: arena.reserve((features.length + 1) * 4),
    missingBins: arena.reserve(features.length * 4),
    out: arena.reserve(8 * 8),
  };
  const memory = arena.shared();
  const kernel = instantiateKernel(kernelModule(), memory);
  const hist = new Float64Array(memory.buffer, at.hist, totalBins * stride * 2);
  const binOffset = new Int32Array(memory.buffer, at.binOffset, features.length + 1);
  const missingBins = new Int32Array(memory.buffer, at.missingBins, features.length);
  new Int32Array(memory.buffer, at.featureList, features.length).set(features.map((_, f) => f));
  features.forEach((bins, f) => {
    binOffset[f + 1] = (binOffset[f] as number) + bins.length;
    missingBins[f] = bins.length - 1;
    hist.set(bins.flat(), (binOffset[f] as number) * stride);
  });
  return { kernel, memory, at, hist, totalBins };
}

/** The kernel's search over every feature of one node: its seven result values. */
function kernelSearch(
  features: FeatureBins[],
  stride: number,
  totals: readonly [number, number, number],
  params: Params,
): number[] {
  const { kernel, memory, at } = kernelWith(features, stride);
  kernel.findBestSplits(
    at.hist,
    stride,
    at.featureList,
    0,
    features.length,
    at.binOffset,
    at.missingBins,
    ...totals,
    params.l2,
    params.minSamplesLeaf,
    params.minHessianLeaf,
    params.minGain,
    at.out,
  );
  return Array.from(new Float64Array(memory.buffer, at.out, 7));
}

describe('the kernel split search', () => {
  const cases: [string, number, Params][] = [
    ['unit hessians', 2, { l2: 0, minSamplesLeaf: 1, minHessianLeaf: 0, minGain: 0 }],
    [
      'unit hessians, larger leaves and L2',
      2,
      { l2: 2.5, minSamplesLeaf: 4, minHessianLeaf: 1e-3, minGain: 0 },
    ],
    ['hessians', 3, { l2: 1, minSamplesLeaf: 2, minHessianLeaf: 0.5, minGain: 0 }],
    ['hessians and a gain floor', 3, { l2: 0, minSamplesLeaf: 1, minHessianLeaf: 0, minGain: 5 }],
  ];
  for (const [name, stride, params] of cases) {
    it(`finds the reference's split to the bit (${name})`, () => {
      const random = new Random(stride * 100 + params.minSamplesLeaf);
      let splits = 0;
      for (let trial = 0; trial < 300; trial++) {
        const features = randomNode(random, 1 + Math.floor(random.next() * 4), stride);
        const { result, totals } = referenceSplit(features, stride, params);
        expect(kernelSearch(features, stride, totals, params)).toEqual(result);
        if (result[0] !== -Infinity) splits++;
      }
      // The random nodes gave both outcomes.
      expect(splits).toBeGreaterThan(50);
      expect(splits).toBeLessThan(300);
    });
  }

  it('keeps a later split whose gain beats the best by a hair', () => {
    // Feature 1 is feature 0 with a sliver of gradient moved across its threshold: its split gains
    // a little more (or less). The search skips splits it can tell lose without dividing; one that
    // wins by a relative 1e-7 must still win.
    const params = { l2: 1, minSamplesLeaf: 1, minHessianLeaf: 0, minGain: 0 };
    for (const stride of [2, 3]) {
      for (const sliver of [1e-3, 1e-6, -1e-6, 0]) {
        const bin = (g: number, c: number) => (stride === 2 ? [g, c] : [g, c, c / 2]);
        const features: FeatureBins[] = [
          [bin(10, 5), bin(-10, 5), bin(0, 0)],
          [bin(10 + sliver, 5), bin(-10 - sliver, 5), bin(0, 0)],
        ];
        const { result, totals } = referenceSplit(features, stride, params);
        expect(result[1]).toBe(sliver > 0 ? 1 : 0);
        expect(kernelSearch(features, stride, totals, params)).toEqual(result);
      }
    }
  });

  it('searches only the listed features, so slices merge to the whole search', () => {
    const random = new Random(7);
    const features = randomNode(random, 5, 2);
    const params = { l2: 0, minSamplesLeaf: 1, minHessianLeaf: 0, minGain: 0 };
    const { result, totals } = referenceSplit(features, 2, params);
    const { kernel, memory, at } = kernelWith(features, 2);
    const gains = [0, 2, 5].slice(0, -1).map((start, i) => {
      const end = [2, 5][i] as number;
      kernel.findBestSplits(
        at.hist,
        2,
        at.featureList,
        start,
        end,
        at.binOffset,
        at.missingBins,
        ...totals,
        0,
        1,
        0,
        0,
        at.out,
      );
      return Array.from(new Float64Array(memory.buffer, at.out, 7));
    });
    const best = gains.reduce((a, b) => ((b[0] as number) > (a[0] as number) ? b : a));
    expect(best).toEqual(result);
  });
});

describe('the kernel histogram subtraction', () => {
  for (const stride of [2, 3]) {
    it(`leaves parent minus child in the parent's slot, only for the listed features (stride ${stride})`, () => {
      const random = new Random(stride);
      const features = randomNode(random, 4, stride);
      const { kernel, at, hist, totalBins } = kernelWith(features, stride);
      const parent = Array.from(hist.subarray(0, totalBins * stride));
      const child = parent.map((value) => Math.round(value * random.next() * 4) / 4);
      hist.set(child, totalBins * stride);
      // Features 1 and 2 only.
      kernel.subtractHistograms(
        at.hist,
        at.hist + totalBins * stride * 8,
        stride,
        at.featureList,
        1,
        3,
        at.binOffset,
      );
      const binsOf = (f: number) => (features[f] as FeatureBins).length;
      const from = binsOf(0) * stride;
      const to = from + (binsOf(1) + binsOf(2)) * stride;
      const expected = parent.map((value, j) => (j >= from && j < to ? value - (child[j] as number) : value));
      expect(Array.from(hist.subarray(0, totalBins * stride))).toEqual(expected);
    });
  }
});

describe('sharesFor', () => {
  it('cuts large nodes into passes of a few features, and small ones not at all', () => {
    // One thread: a small node is one pass; a large one a pass per FEATURES_PER_PASS features.
    expect(sharesFor(20, PASS_MIN_ROWS - 1, 1)).toBe(1);
    expect(sharesFor(20, PASS_MIN_ROWS, 1)).toBe(Math.ceil(20 / FEATURES_PER_PASS));
    expect(sharesFor(8, 1_000_000, 1)).toBe(Math.ceil(8 / FEATURES_PER_PASS));
    // Threads: at least SHARES_PER_THREAD each, never more shares than features.
    expect(sharesFor(20, 5000, 2)).toBe(2 * SHARES_PER_THREAD);
    expect(sharesFor(100, 1_000_000, 2)).toBe(100 / FEATURES_PER_PASS);
    expect(sharesFor(3, 1_000_000, 4)).toBe(3);
    for (const [features, threads] of [
      [1, 1],
      [20, 2],
      [300, 4],
    ] as const) {
      expect(sharesFor(features, 10_000_000, threads)).toBeLessThanOrEqual(maxShares(features, threads));
    }
  });
});
