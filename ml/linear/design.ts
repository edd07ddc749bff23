/**
 * The expanded design of a linear model: numeric features imputed and standardised, categorical
 * features one-hot over their category list. Rows are kept sparse (the numeric values plus one
 * active index per categorical feature) so a categorical feature with thousands of categories costs
 * one integer per row, not thousands of zeros.
 *
 * Parameters are laid out per output as [intercept, w_0 .. w_{width-1}], outputs one after another,
 * so output o's block starts at o * (width + 1).
 */
import type { EncodedFeatures } from '../dataset';
import type { Feature, LinearModel } from '../model';

export type NumericPreprocessing = LinearModel['numericPreprocessing'];

/** Where each feature's weights start in the design row, and the row's width. */
export function designLayout(features: readonly Feature[]): { offsets: number[]; width: number } {
  const offsets: number[] = [];
  let width = 0;
  for (const feature of features) {
    offsets.push(width);
    width += feature.kind === 'numeric' ? 1 : feature.categories.length;
  }
  return { offsets, width };
}

/**
 * Learns imputation and standardisation of every numeric feature: imputeValue = mean of the finite
 * values (0 when there are none), scale = population standard deviation of the imputed column (1
 * when that is 0 or not finite, so a constant or all-missing column maps to zeros, not NaN).
 */
export function fitNumericPreprocessing(encoded: EncodedFeatures): NumericPreprocessing {
  const result: NumericPreprocessing = {};
  encoded.features.forEach((feature, j) => {
    if (feature.kind !== 'numeric') return;
    const values = encoded.columns[j] as Float64Array;
    let sum = 0;
    let count = 0;
    let min = Infinity;
    let max = -Infinity;
    for (const value of values) {
      if (!Number.isFinite(value)) continue;
      sum += value;
      count++;
      if (value < min) min = value;
      if (value > max) max = value;
    }
    // A constant column takes its value exactly: sum / count can be off by an ulp, and the resulting
    // 1e-17 "deviation" would otherwise become a scale that blows any other value up to 1e15.
    const mean = count === 0 ? 0 : min === max ? min : sum / count;
    let squares = 0;
    for (const value of values) {
      if (!Number.isFinite(value)) continue;
      const deviation = value - mean;
      squares += deviation * deviation;
    }
    // Imputed cells sit at the mean: they count in the divisor but add nothing to the squares.
    const std = values.length > 0 ? Math.sqrt(squares / values.length) : 0;
    const negligible = !Number.isFinite(std) || std === 0 || std <= 1e-12 * Math.abs(mean);
    result[feature.name] = { imputeValue: mean, mean, scale: negligible ? 1 : std };
  });
  return result;
}

/** Training rows in sparse form, ready for the solvers. */
export interface Design {
  rowCount: number;
  /** Number of weights per output (without the intercept). */
  width: number;
  /** Design index of each numeric feature, in feature order. */
  numericIndex: Int32Array;
  /** Standardised numeric values, row-major: rowCount x numericIndex.length. */
  numericValues: Float64Array;
  /** Number of categorical features. */
  categoricalCount: number;
  /** Active one-hot design index per row and categorical feature, -1 when unseen or missing. */
  categoricalIndex: Int32Array;
}

/**
 * Expands encoded features into the design.
 *
 * @throws when a numeric value is infinite: scoring imputes only NaN, so an infinity would silently
 *   dominate the fit; it has to be cleaned in the data.
 */
export function buildDesign(encoded: EncodedFeatures, preprocessing: NumericPreprocessing): Design {
  const { features, columns, rowCount: n } = encoded;
  const { offsets, width } = designLayout(features);
  const numeric: number[] = [];
  const categorical: number[] = [];
  features.forEach((feature, j) => (feature.kind === 'numeric' ? numeric : categorical).push(j));
  const qn = numeric.length;
  const qc = categorical.length;
  const numericValues = new Float64Array(n * qn);
  const categoricalIndex = new Int32Array(n * qc);
  numeric.forEach((j, a) => {
    const feature = features[j] as Feature;
    const values = columns[j] as Float64Array;
    const prep = preprocessing[feature.name];
    if (!prep) throw new Error(`No preprocessing learned for numeric feature "${feature.name}"`);
    for (let row = 0; row < n; row++) {
      let x = values[row] as number;
      if (Number.isNaN(x)) x = prep.imputeValue;
      else if (!Number.isFinite(x)) {
        throw new Error(
          `Feature "${feature.name}" is ${x} in row ${row + 1}: replace infinities (e.g. by NaN) before training`,
        );
      }
      numericValues[row * qn + a] = (x - prep.mean) / prep.scale;
    }
  });
  categorical.forEach((j, c) => {
    const feature = features[j] as Feature;
    const size = feature.kind === 'categorical' ? feature.categories.length : 0;
    const offset = offsets[j] as number;
    const codes = columns[j] as Float64Array;
    for (let row = 0; row < n; row++) {
      const code = codes[row] as number;
      const known = Number.isInteger(code) && code >= 0 && code < size;
      categoricalIndex[row * qc + c] = known ? offset + code : -1;
    }
  });
  return {
    rowCount: n,
    width,
    numericIndex: Int32Array.from(numeric, (j) => offsets[j] as number),
    numericValues,
    categoricalCount: qc,
    categoricalIndex,
  };
}

/** Linear scores of every row for `outputs` outputs: out[row * outputs + o]. */
export function designScores(design: Design, theta: Float64Array, outputs: number, out: Float64Array): void {
  const { rowCount: n, numericIndex, numericValues, categoricalIndex, categoricalCount: qc } = design;
  const qn = numericIndex.length;
  const stride = design.width + 1;
  for (let row = 0; row < n; row++) {
    for (let o = 0; o < outputs; o++) {
      const base = o * stride;
      let z = theta[base] as number;
      for (let a = 0; a < qn; a++) {
        z +=
          (theta[base + 1 + (numericIndex[a] as number)] as number) * (numericValues[row * qn + a] as number);
      }
      for (let c = 0; c < qc; c++) {
        const index = categoricalIndex[row * qc + c] as number;
        if (index >= 0) z += theta[base + 1 + index] as number;
      }
      out[row * outputs + o] = z;
    }
  }
}

/** Adds X^T r to `grad` for each output, r given row-major as r[row * outputs + o]. */
export function addTransposed(design: Design, r: Float64Array, outputs: number, grad: Float64Array): void {
  const { rowCount: n, numericIndex, numericValues, categoricalIndex, categoricalCount: qc } = design;
  const qn = numericIndex.length;
  const stride = design.width + 1;
  for (let row = 0; row < n; row++) {
    for (let o = 0; o < outputs; o++) {
      const residual = r[row * outputs + o] as number;
      if (residual === 0) continue;
      const base = o * stride;
      grad[base] = (grad[base] as number) + residual;
      for (let a = 0; a < qn; a++) {
        const k = base + 1 + (numericIndex[a] as number);
        grad[k] = (grad[k] as number) + residual * (numericValues[row * qn + a] as number);
      }
      for (let c = 0; c < qc; c++) {
        const index = categoricalIndex[row * qc + c] as number;
        if (index >= 0) grad[base + 1 + index] = (grad[base + 1 + index] as number) + residual;
      }
    }
  }
}

/**
 * X^T diag(rowWeights) X over [intercept, design] as a dense symmetric (width+1)^2 matrix, built
 * from each row's few active entries: cost rows x active^2, whatever the number of categories.
 */
export function weightedGram(design: Design, rowWeights: Float64Array | null): Float64Array {
  const { rowCount: n, numericIndex, numericValues, categoricalIndex, categoricalCount: qc } = design;
  const qn = numericIndex.length;
  const dim = design.width + 1;
  const gram = new Float64Array(dim * dim);
  const index = new Int32Array(1 + qn + qc);
  const value = new Float64Array(1 + qn + qc);
  for (let row = 0; row < n; row++) {
    const weight = rowWeights ? (rowWeights[row] as number) : 1;
    if (weight === 0) continue;
    let m = 0;
    index[m] = 0;
    value[m++] = 1;
    for (let a = 0; a < qn; a++) {
      index[m] = 1 + (numericIndex[a] as number);
      value[m++] = numericValues[row * qn + a] as number;
    }
    for (let c = 0; c < qc; c++) {
      const active = categoricalIndex[row * qc + c] as number;
      if (active < 0) continue;
      index[m] = 1 + active;
      value[m++] = 1;
    }
    for (let i = 0; i < m; i++) {
      const wi = weight * (value[i] as number);
      const rowBase = (index[i] as number) * dim;
      for (let k = i; k < m; k++) {
        const cell = rowBase + (index[k] as number);
        gram[cell] = (gram[cell] as number) + wi * (value[k] as number);
      }
    }
  }
  // Entries fixed in list order land in the upper or the lower triangle depending on the indices
  // (a categorical index can precede a numeric one), never both: fold them into a symmetric matrix.
  for (let i = 0; i < dim; i++) {
    for (let k = i + 1; k < dim; k++) {
      const sum = (gram[i * dim + k] as number) + (gram[k * dim + i] as number);
      gram[i * dim + k] = sum;
      gram[k * dim + i] = sum;
    }
  }
  return gram;
}
