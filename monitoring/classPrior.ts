/**
 * Class-prior shift: has the share of each outcome (failed / passed inspection, the scrap reasons)
 * among fresh labelled outcomes moved from its share in the test rows at training? A classifier's
 * probabilities carry the class balance it learned, so a failure rate that doubles leaves them too
 * low even where the inputs look the same.
 *
 * Judged by a chi-square test of homogeneity between the two sets of counts (the test rows are a
 * sample too), at a strict level: on nights without a shift it raises a false alarm about once in
 * a thousand checks, and only with `minSamples` labelled rows and at least 5 expected rows in every
 * cell (below that the chi-square approximation does not hold, and nothing is judged).
 */
import { chiSquareSurvival } from '../ml/statistics';

/** The p-value below which a class-prior shift raises the alarm: the false-alarm rate per check. */
export const CLASS_PRIOR_LEVEL = 0.001;

/** Fewest expected rows per cell for the chi-square approximation. */
export const MIN_EXPECTED_ROWS = 5;

/** One class at training and now. */
export interface ClassShare {
  label: string;
  /** Share of the reference rows (the test rows at training). */
  reference: number;
  /** Share of the labelled rows of the window. */
  current: number;
  /** Labelled rows of the window with this class. */
  rows: number;
}

export interface ClassPriorShift {
  /** The rows the reference shares come from: the test rows at training, or the training rows for a profile that lacks them. */
  reference: 'test' | 'training';
  referenceRows: number;
  /** Labelled rows of the window with a known class. */
  rows: number;
  classes: ClassShare[];
  /** The chi-square statistic; null when not computed. */
  statistic: number | null;
  degreesOfFreedom: number;
  /** P(chi-square >= statistic) with no shift; null when not computed. */
  pValue: number | null;
  level: number;
  judged: boolean;
  reason?: string;
  /** Judged, and the p-value below the level. */
  alarm: boolean;
}

export interface ClassPriorInput {
  /** The model's class labels, index = class id. */
  classLabels: readonly string[];
  /** Rows per class of the reference, aligned with `classLabels`. */
  referenceCounts: readonly number[];
  reference: ClassPriorShift['reference'];
  /** Class ids of the window's labelled rows; NaN (unknown) rows are left out. */
  y: ArrayLike<number>;
  /** The spec's `monitoring.minSamples`: fewest labelled rows to judge. */
  minSamples: number;
  /** @default CLASS_PRIOR_LEVEL */
  level?: number;
}

/** Compares the class shares of the labelled rows with the reference's (see the module comment). */
export function classPriorShift(input: ClassPriorInput): ClassPriorShift {
  const { classLabels, referenceCounts, minSamples } = input;
  const level = input.level ?? CLASS_PRIOR_LEVEL;
  const counts = new Array<number>(classLabels.length).fill(0);
  for (let i = 0; i < input.y.length; i++) {
    const id = input.y[i] as number;
    if (Number.isInteger(id) && id >= 0 && id < counts.length) counts[id] = (counts[id] as number) + 1;
  }
  const rows = counts.reduce((sum, count) => sum + count, 0);
  const referenceRows = referenceCounts.reduce((sum, count) => sum + count, 0);
  const classes = classLabels.map((label, id) => ({
    label,
    reference: referenceRows === 0 ? 0 : (referenceCounts[id] ?? 0) / referenceRows,
    current: rows === 0 ? 0 : (counts[id] as number) / rows,
    rows: counts[id] as number,
  }));
  // Classes seen in neither set carry no information.
  const present = classLabels
    .map((_, id) => id)
    .filter((id) => (counts[id] as number) + (referenceCounts[id] ?? 0) > 0);
  const degreesOfFreedom = Math.max(0, present.length - 1);
  const base = { reference: input.reference, referenceRows, rows, classes, degreesOfFreedom, level };
  const notJudged = (reason: string, statistic: number | null = null): ClassPriorShift => ({
    ...base,
    statistic,
    pValue: null,
    judged: false,
    reason,
    alarm: false,
  });
  if (rows < minSamples) {
    return notJudged(
      `only ${rows} labelled ${rows === 1 ? 'row' : 'rows'}, fewer than the ${minSamples} needed to judge`,
    );
  }
  if (referenceRows === 0) return notJudged('the reference profile holds no class counts');
  if (degreesOfFreedom === 0) {
    return { ...base, statistic: 0, pValue: 1, judged: true, alarm: false };
  }
  const total = rows + referenceRows;
  let statistic = 0;
  let rarest = { expected: Number.POSITIVE_INFINITY, label: '' };
  for (const id of present) {
    const classRows = (counts[id] as number) + (referenceCounts[id] ?? 0);
    for (const [observed, setRows] of [
      [counts[id] as number, rows],
      [referenceCounts[id] ?? 0, referenceRows],
    ] as const) {
      const expected = (setRows * classRows) / total;
      statistic += (observed - expected) ** 2 / expected;
      if (expected < rarest.expected) rarest = { expected, label: classLabels[id] as string };
    }
  }
  if (rarest.expected < MIN_EXPECTED_ROWS) {
    return notJudged(
      `class "${rarest.label}" is expected in only ${rarest.expected.toFixed(1)} rows, fewer than the ${MIN_EXPECTED_ROWS} the test needs`,
      statistic,
    );
  }
  const pValue = chiSquareSurvival(statistic, degreesOfFreedom);
  return { ...base, statistic, pValue, judged: true, alarm: pValue < level };
}
