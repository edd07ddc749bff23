/**
 * Calibration of a classifier in production: does "30 % likely to fail" still mean that about 30 % of
 * such parts fail? Expected calibration error (ECE) over equal-width probability bins, on the test
 * rows at training and on fresh labelled outcomes; it grows when the shop changes in a way the
 * model's probabilities do not follow (a failure rate that moved, a new batch of sheet), even while
 * the ranking (AUC) holds.
 */
import { argmaxRows } from '../ml/metrics';

/** Equal-width probability bins of the ECE. */
export const CALIBRATION_BINS = 10;

/**
 * Growth of the ECE over its value at training, in absolute terms, that raises the alarm (beyond
 * what the rows' own noise explains, see `CHANCE_ALLOWANCE`): 0.05 is five points of probability
 * that the model is off by on average, which a shop acting on a 50 % threshold notices.
 */
export const CALIBRATION_TOLERANCE = 0.05;

/**
 * How many times its chance level (`CalibrationError.chance`) a window's ECE may show on top of the
 * tolerance. Simulated calibrated windows of 200 rows (three classes, every top probability 0.6,
 * the worst case tried) passed 0.05 + 1x chance on 2.5 % of nights and 0.05 + 2x chance on 0.15 %.
 */
export const CHANCE_ALLOWANCE = 2;

/** One bin of the reliability table: the rows whose confidence falls in [from, to). */
export interface CalibrationBin {
  from: number;
  to: number;
  rows: number;
  /** Mean confidence of its rows; null without rows. */
  confidence: number | null;
  /** Share of its rows where it came true; null without rows. */
  observed: number | null;
}

/** The ECE of some rows, with its reliability table. */
export interface CalibrationError {
  /** Sum over bins of (rows in bin / rows) x |observed - confidence|; null without rows. */
  value: number | null;
  rows: number;
  bins: CalibrationBin[];
  /**
   * The ECE a perfectly calibrated model would still show on these rows, from sampling alone (each
   * bin's observed share has the spread of a binomial around its confidence); null without rows.
   */
  chance: number | null;
}

export interface CalibrationInput {
  task: 'binary' | 'multiclass';
  /** Class ids; rows with NaN are left out. */
  y: ArrayLike<number>;
  /** Binary: probability of class 1. Multiclass: rows x k probabilities, row-major. */
  prediction: ArrayLike<number>;
  /** Number of classes (multiclass only). @default prediction.length / y.length */
  k?: number;
  /** @default CALIBRATION_BINS */
  bins?: number;
}

/**
 * Expected calibration error. Binary: bins of P(class 1) against the share of class 1 (both classes
 * at once, as the probability people read). Multiclass: top-label calibration, bins of the highest
 * probability against the share of rows whose most probable class was right.
 *
 * @throws when the predictions are not one (binary) or k (multiclass) per row
 */
export function expectedCalibrationError(input: CalibrationInput): CalibrationError {
  const { task, y, prediction } = input;
  const n = y.length;
  const k = task === 'multiclass' ? (input.k ?? (n > 0 ? prediction.length / n : 0)) : 1;
  if (prediction.length !== n * k) {
    throw new Error(`${n} outcomes but ${prediction.length} predictions (expected ${n * k})`);
  }
  const binCount = input.bins ?? CALIBRATION_BINS;
  const predicted = task === 'multiclass' ? argmaxRows(prediction, k) : undefined;
  const rows = new Array<number>(binCount).fill(0);
  const confidence = new Array<number>(binCount).fill(0);
  const hits = new Array<number>(binCount).fill(0);
  const variance = new Array<number>(binCount).fill(0);
  let used = 0;
  for (let i = 0; i < n; i++) {
    const actual = y[i] as number;
    const p = predicted
      ? (prediction[i * k + (predicted[i] as number)] as number)
      : (prediction[i] as number);
    if (Number.isNaN(actual) || !Number.isFinite(p)) continue;
    const bin = Math.min(binCount - 1, Math.max(0, Math.floor(p * binCount)));
    const cameTrue = predicted ? predicted[i] === actual : actual === 1;
    rows[bin] = (rows[bin] as number) + 1;
    confidence[bin] = (confidence[bin] as number) + p;
    hits[bin] = (hits[bin] as number) + (cameTrue ? 1 : 0);
    variance[bin] = (variance[bin] as number) + p * (1 - p);
    used++;
  }
  let value = 0;
  let chance = 0;
  const bins = rows.map((count, bin): CalibrationBin => {
    const from = bin / binCount;
    const to = (bin + 1) / binCount;
    if (count === 0) return { from, to, rows: 0, confidence: null, observed: null };
    const meanConfidence = (confidence[bin] as number) / count;
    const observed = (hits[bin] as number) / count;
    value += (count / used) * Math.abs(observed - meanConfidence);
    // E|mean of Bernoulli(p_i) - mean p_i| ~ sqrt(2 / pi) x its standard deviation, weighted by count / used.
    chance += (Math.sqrt(2 / Math.PI) * Math.sqrt(variance[bin] as number)) / used;
    return { from, to, rows: count, confidence: meanConfidence, observed };
  });
  return { value: used === 0 ? null : value, rows: used, bins, chance: used === 0 ? null : chance };
}

/** The ECE on the test rows at training, kept in the reference profile. */
export interface CalibrationReference {
  statistic: 'ece';
  /** Null when the test rows had no usable probability. */
  value: number | null;
  rows: number;
  bins: number;
}

export interface CalibrationDriftInput extends CalibrationInput {
  /** The profile's `calibration`; undefined for profiles made before it was kept. */
  reference: CalibrationReference | undefined;
  /** @default CALIBRATION_TOLERANCE */
  tolerance?: number;
  /** The spec's `monitoring.minSamples`: fewest labelled rows to judge. */
  minSamples: number;
}

/** How the calibration of the labelled rows compares with the test rows at training. */
export interface CalibrationDrift {
  statistic: 'ece';
  /** The ECE on the test rows at training; null when the profile does not hold it. */
  referenceValue: number | null;
  /** The ECE on the labelled rows; null without rows. */
  currentValue: number | null;
  /** What a perfectly calibrated model would show on these rows by chance (`CHANCE_ALLOWANCE` times it is added to the tolerance). */
  chance: number | null;
  tolerance: number;
  /** The growth allowed on these rows: tolerance + `CHANCE_ALLOWANCE` x chance. */
  allowed: number;
  /** Labelled rows used. */
  rows: number;
  judged: boolean;
  reason?: string;
  /** Judged, and current - reference above `allowed`. */
  alarm: boolean;
  bins: CalibrationBin[];
}

/**
 * Compares the ECE of the labelled rows with the test rows' at training. A small window's ECE is
 * inflated by sampling alone (200 rows spread over five bins show about 0.06 for a perfectly
 * calibrated model), so the alarm needs the growth to pass the tolerance plus twice that expected
 * chance level (`CHANCE_ALLOWANCE`), and `minSamples` labelled rows.
 */
export function calibrationDrift(input: CalibrationDriftInput): CalibrationDrift {
  const measured = expectedCalibrationError(input);
  const tolerance = input.tolerance ?? CALIBRATION_TOLERANCE;
  const referenceValue = input.reference?.value ?? null;
  const allowed = tolerance + CHANCE_ALLOWANCE * (measured.chance ?? 0);
  const base = {
    statistic: 'ece' as const,
    referenceValue,
    currentValue: measured.value,
    chance: measured.chance,
    tolerance,
    allowed,
    rows: measured.rows,
    bins: measured.bins,
  };
  const notJudged = (reason: string): CalibrationDrift => ({ ...base, judged: false, reason, alarm: false });
  if (measured.rows < input.minSamples) {
    const plural = measured.rows === 1 ? 'row' : 'rows';
    return notJudged(
      `only ${measured.rows} labelled ${plural}, fewer than the ${input.minSamples} needed to judge`,
    );
  }
  if (referenceValue === null) {
    return notJudged(
      input.reference
        ? 'the calibration at training could not be measured'
        : 'the reference profile predates calibration; the next version trained keeps it',
    );
  }
  const growth = (measured.value ?? 0) - referenceValue;
  // A growth of exactly the allowance must not alarm on rounding.
  return { ...base, judged: true, alarm: growth > allowed + 1e-12 };
}
