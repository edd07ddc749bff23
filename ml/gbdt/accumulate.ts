/**
 * Building gradient histograms (layout: see histogram.ts), the training hot loop.
 *
 * These functions must stay self-contained (no closures, no imports, no nested functions besides
 * each other): worker threads run their source text (`Function.prototype.toString`).
 *
 * Deliberate repetition (ARCHITECTURE.md): accumulateEight/Four/Two/One and, inside them, the loops
 * per bin layout (counts known, [grad, count], [grad, count, hess]) are written out one by one on
 * purpose. Each is a monomorphic typed-array loop with its feature count and stride fixed, so V8
 * keeps the columns in registers and has no per-row branch on the layout (commit e2e62f2: a 1M-row
 * fit went from 24 s to 19-23 s). Merge them only with the fit benchmark (bench/ml.ts) showing no
 * loss; change one, change its siblings the same way.
 */
import type { HistogramBuffers } from './histogram';

/**
 * The first half of one thread's share of a job: build the histogram of the job's node (if any) for
 * features `featureList[listStart..listEnd)`. The job layout is JOB (the literals below must match).
 */
export function buildHistograms(b: HistogramBuffers, listStart: number, listEnd: number): void {
  const job = b.job;
  const stride = job[0] as number;
  if ((job[3] as number) >= 0) {
    accumulateHistograms(
      b.bins,
      b.rowCount,
      b.rows,
      job[1] as number,
      job[2] as number,
      stride,
      b.grad,
      b.hess,
      b.hist,
      job[3] as number,
      b.featureList,
      listStart,
      listEnd,
      b.binOffset,
      b.allRowCounts,
      job[13] as number,
    );
  }
}

/**
 * Accumulates the histograms of features `featureList[listStart..listEnd)` for one node into
 * `hist` at `histBase`, overwriting those features' bins.
 *
 * The node's rows are `rows[start..start+count)` and their gradients and hessians
 * `grad[start..start+count)` and `hess[...]`: kept in the same order as the rows, so they are read
 * sequentially. `stride` 2 means unit hessians: `hess` is not read.
 *
 * Features are taken four at a time in one pass over the rows: a pass per feature would stream the
 * node's row indices and gradients (12 bytes a row, too many for the cache on large nodes) once per
 * feature, and four interleaved features give four independent chains of updates, so rows that
 * repeat a bin (few categories, time-ordered data) do not stall on each other. Every bin sums its
 * rows in row-buffer order whatever the grouping: the same histogram on any thread.
 *
 * `allRows` 1 says the node holds every row of the data: for unit hessians its counts are then
 * `allRowCounts` (the same for every tree) and only gradients are summed.
 */
export function accumulateHistograms(
  bins: Uint8Array | Uint16Array,
  rowCount: number,
  rows: Uint32Array,
  start: number,
  count: number,
  stride: number,
  grad: Float64Array,
  hess: Float64Array,
  hist: Float64Array,
  histBase: number,
  featureList: Int32Array,
  listStart: number,
  listEnd: number,
  binOffset: Int32Array,
  allRowCounts: Float64Array,
  allRows: number,
): void {
  // Every row of the data (unit hessians only): the counts are known, only gradients are summed.
  const gradOnly = allRows === 1 && stride === 2 ? 1 : 0;
  for (let k = listStart; k < listEnd; k++) {
    const feature = featureList[k] as number;
    const from = (binOffset[feature] as number) * stride;
    const to = (binOffset[feature + 1] as number) * stride;
    if (gradOnly === 1) hist.set(allRowCounts.subarray(from, to), histBase + from);
    else hist.fill(0, histBase + from, histBase + to);
  }
  const end = start + count;
  let k = listStart;
  // Unit hessians (the common case): eight features a pass stream the rows half as often again.
  for (; stride === 2 && k + 7 < listEnd; k += 8) {
    accumulateEight(
      bins,
      rowCount,
      rows,
      start,
      end,
      gradOnly,
      grad,
      hist,
      histBase,
      featureList,
      k,
      binOffset,
    );
  }
  for (; k + 3 < listEnd; k += 4) {
    accumulateFour(
      bins,
      rowCount,
      rows,
      start,
      end,
      stride,
      gradOnly,
      grad,
      hess,
      hist,
      histBase,
      featureList,
      k,
      binOffset,
    );
  }
  // The rest in a pair and a single feature.
  for (; k + 1 < listEnd; k += 2) {
    accumulateTwo(
      bins,
      rowCount,
      rows,
      start,
      end,
      stride,
      gradOnly,
      grad,
      hess,
      hist,
      histBase,
      featureList,
      k,
      binOffset,
    );
  }
  for (; k < listEnd; k++) {
    accumulateOne(
      bins,
      rowCount,
      rows,
      start,
      end,
      stride,
      gradOnly,
      grad,
      hess,
      hist,
      histBase,
      featureList,
      k,
      binOffset,
    );
  }
}

/**
 * accumulateHistograms for features featureList[k..k+4) in one pass over the rows, on cleared bins
 * (`gradOnly` 1: on bins holding their counts, adding gradients only).
 */
export function accumulateFour(
  bins: Uint8Array | Uint16Array,
  rowCount: number,
  rows: Uint32Array,
  start: number,
  end: number,
  stride: number,
  gradOnly: number,
  grad: Float64Array,
  hess: Float64Array,
  hist: Float64Array,
  histBase: number,
  featureList: Int32Array,
  k: number,
  binOffset: Int32Array,
): void {
  const f0 = featureList[k] as number;
  const f1 = featureList[k + 1] as number;
  const f2 = featureList[k + 2] as number;
  const f3 = featureList[k + 3] as number;
  // Each feature's column in `bins` and its first bin in `hist`.
  const c0 = f0 * rowCount;
  const c1 = f1 * rowCount;
  const c2 = f2 * rowCount;
  const c3 = f3 * rowCount;
  const h0 = histBase + (binOffset[f0] as number) * stride;
  const h1 = histBase + (binOffset[f1] as number) * stride;
  const h2 = histBase + (binOffset[f2] as number) * stride;
  const h3 = histBase + (binOffset[f3] as number) * stride;
  if (gradOnly === 1) {
    for (let i = start; i < end; i++) {
      const row = rows[i] as number;
      const g = grad[i] as number;
      const a0 = h0 + (bins[c0 + row] as number) * 2;
      const a1 = h1 + (bins[c1 + row] as number) * 2;
      const a2 = h2 + (bins[c2 + row] as number) * 2;
      const a3 = h3 + (bins[c3 + row] as number) * 2;
      hist[a0] = (hist[a0] as number) + g;
      hist[a1] = (hist[a1] as number) + g;
      hist[a2] = (hist[a2] as number) + g;
      hist[a3] = (hist[a3] as number) + g;
    }
  } else if (stride === 2) {
    for (let i = start; i < end; i++) {
      const row = rows[i] as number;
      const g = grad[i] as number;
      const a0 = h0 + (bins[c0 + row] as number) * 2;
      const a1 = h1 + (bins[c1 + row] as number) * 2;
      const a2 = h2 + (bins[c2 + row] as number) * 2;
      const a3 = h3 + (bins[c3 + row] as number) * 2;
      hist[a0] = (hist[a0] as number) + g;
      hist[a0 + 1] = (hist[a0 + 1] as number) + 1;
      hist[a1] = (hist[a1] as number) + g;
      hist[a1 + 1] = (hist[a1 + 1] as number) + 1;
      hist[a2] = (hist[a2] as number) + g;
      hist[a2 + 1] = (hist[a2 + 1] as number) + 1;
      hist[a3] = (hist[a3] as number) + g;
      hist[a3 + 1] = (hist[a3 + 1] as number) + 1;
    }
  } else {
    for (let i = start; i < end; i++) {
      const row = rows[i] as number;
      const g = grad[i] as number;
      const h = hess[i] as number;
      const a0 = h0 + (bins[c0 + row] as number) * 3;
      const a1 = h1 + (bins[c1 + row] as number) * 3;
      const a2 = h2 + (bins[c2 + row] as number) * 3;
      const a3 = h3 + (bins[c3 + row] as number) * 3;
      hist[a0] = (hist[a0] as number) + g;
      hist[a0 + 1] = (hist[a0 + 1] as number) + 1;
      hist[a0 + 2] = (hist[a0 + 2] as number) + h;
      hist[a1] = (hist[a1] as number) + g;
      hist[a1 + 1] = (hist[a1 + 1] as number) + 1;
      hist[a1 + 2] = (hist[a1 + 2] as number) + h;
      hist[a2] = (hist[a2] as number) + g;
      hist[a2 + 1] = (hist[a2 + 1] as number) + 1;
      hist[a2 + 2] = (hist[a2 + 2] as number) + h;
      hist[a3] = (hist[a3] as number) + g;
      hist[a3 + 1] = (hist[a3 + 1] as number) + 1;
      hist[a3 + 2] = (hist[a3 + 2] as number) + h;
    }
  }
}

/** accumulateFour for unit hessians (stride 2) and features featureList[k..k+8). */
export function accumulateEight(
  bins: Uint8Array | Uint16Array,
  rowCount: number,
  rows: Uint32Array,
  start: number,
  end: number,
  gradOnly: number,
  grad: Float64Array,
  hist: Float64Array,
  histBase: number,
  featureList: Int32Array,
  k: number,
  binOffset: Int32Array,
): void {
  const c0 = (featureList[k] as number) * rowCount;
  const c1 = (featureList[k + 1] as number) * rowCount;
  const c2 = (featureList[k + 2] as number) * rowCount;
  const c3 = (featureList[k + 3] as number) * rowCount;
  const c4 = (featureList[k + 4] as number) * rowCount;
  const c5 = (featureList[k + 5] as number) * rowCount;
  const c6 = (featureList[k + 6] as number) * rowCount;
  const c7 = (featureList[k + 7] as number) * rowCount;
  const h0 = histBase + (binOffset[featureList[k] as number] as number) * 2;
  const h1 = histBase + (binOffset[featureList[k + 1] as number] as number) * 2;
  const h2 = histBase + (binOffset[featureList[k + 2] as number] as number) * 2;
  const h3 = histBase + (binOffset[featureList[k + 3] as number] as number) * 2;
  const h4 = histBase + (binOffset[featureList[k + 4] as number] as number) * 2;
  const h5 = histBase + (binOffset[featureList[k + 5] as number] as number) * 2;
  const h6 = histBase + (binOffset[featureList[k + 6] as number] as number) * 2;
  const h7 = histBase + (binOffset[featureList[k + 7] as number] as number) * 2;
  // Counts step 1 per row, or 0 when they are known already (see accumulateHistograms).
  const one = 1 - gradOnly;
  for (let i = start; i < end; i++) {
    const row = rows[i] as number;
    const g = grad[i] as number;
    let a = h0 + (bins[c0 + row] as number) * 2;
    hist[a] = (hist[a] as number) + g;
    hist[a + 1] = (hist[a + 1] as number) + one;
    a = h1 + (bins[c1 + row] as number) * 2;
    hist[a] = (hist[a] as number) + g;
    hist[a + 1] = (hist[a + 1] as number) + one;
    a = h2 + (bins[c2 + row] as number) * 2;
    hist[a] = (hist[a] as number) + g;
    hist[a + 1] = (hist[a + 1] as number) + one;
    a = h3 + (bins[c3 + row] as number) * 2;
    hist[a] = (hist[a] as number) + g;
    hist[a + 1] = (hist[a + 1] as number) + one;
    a = h4 + (bins[c4 + row] as number) * 2;
    hist[a] = (hist[a] as number) + g;
    hist[a + 1] = (hist[a + 1] as number) + one;
    a = h5 + (bins[c5 + row] as number) * 2;
    hist[a] = (hist[a] as number) + g;
    hist[a + 1] = (hist[a + 1] as number) + one;
    a = h6 + (bins[c6 + row] as number) * 2;
    hist[a] = (hist[a] as number) + g;
    hist[a + 1] = (hist[a + 1] as number) + one;
    a = h7 + (bins[c7 + row] as number) * 2;
    hist[a] = (hist[a] as number) + g;
    hist[a + 1] = (hist[a + 1] as number) + one;
  }
}

/** accumulateFour for features featureList[k..k+2). */
export function accumulateTwo(
  bins: Uint8Array | Uint16Array,
  rowCount: number,
  rows: Uint32Array,
  start: number,
  end: number,
  stride: number,
  gradOnly: number,
  grad: Float64Array,
  hess: Float64Array,
  hist: Float64Array,
  histBase: number,
  featureList: Int32Array,
  k: number,
  binOffset: Int32Array,
): void {
  const f0 = featureList[k] as number;
  const f1 = featureList[k + 1] as number;
  const c0 = f0 * rowCount;
  const c1 = f1 * rowCount;
  const h0 = histBase + (binOffset[f0] as number) * stride;
  const h1 = histBase + (binOffset[f1] as number) * stride;
  for (let i = start; i < end; i++) {
    const row = rows[i] as number;
    const g = grad[i] as number;
    const a0 = h0 + (bins[c0 + row] as number) * stride;
    const a1 = h1 + (bins[c1 + row] as number) * stride;
    hist[a0] = (hist[a0] as number) + g;
    hist[a1] = (hist[a1] as number) + g;
    if (gradOnly === 0) {
      hist[a0 + 1] = (hist[a0 + 1] as number) + 1;
      hist[a1 + 1] = (hist[a1 + 1] as number) + 1;
      if (stride === 3) {
        const h = hess[i] as number;
        hist[a0 + 2] = (hist[a0 + 2] as number) + h;
        hist[a1 + 2] = (hist[a1 + 2] as number) + h;
      }
    }
  }
}

/** accumulateFour for feature featureList[k] alone. */
export function accumulateOne(
  bins: Uint8Array | Uint16Array,
  rowCount: number,
  rows: Uint32Array,
  start: number,
  end: number,
  stride: number,
  gradOnly: number,
  grad: Float64Array,
  hess: Float64Array,
  hist: Float64Array,
  histBase: number,
  featureList: Int32Array,
  k: number,
  binOffset: Int32Array,
): void {
  const feature = featureList[k] as number;
  const column = feature * rowCount;
  const first = histBase + (binOffset[feature] as number) * stride;
  if (gradOnly === 1) {
    for (let i = start; i < end; i++) {
      const a = first + (bins[column + (rows[i] as number)] as number) * 2;
      hist[a] = (hist[a] as number) + (grad[i] as number);
    }
  } else if (stride === 2) {
    for (let i = start; i < end; i++) {
      const a = first + (bins[column + (rows[i] as number)] as number) * 2;
      hist[a] = (hist[a] as number) + (grad[i] as number);
      hist[a + 1] = (hist[a + 1] as number) + 1;
    }
  } else {
    for (let i = start; i < end; i++) {
      const a = first + (bins[column + (rows[i] as number)] as number) * 3;
      hist[a] = (hist[a] as number) + (grad[i] as number);
      hist[a + 1] = (hist[a + 1] as number) + 1;
      hist[a + 2] = (hist[a + 2] as number) + (hess[i] as number);
    }
  }
}
