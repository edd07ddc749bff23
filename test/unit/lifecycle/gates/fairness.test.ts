import { describe, expect, it } from 'vitest';
import {
  evaluateFairnessGate,
  type FairnessGateInput,
  type FairnessGateSpec,
  formatNumber,
  type GateCheck,
} from '../../../../lifecycle/gates';
import { meanError, rmse } from '../../../../ml/metrics';
import { categoricalFromLabels } from '../../../../ml/table';
import { fairnessGateSchema } from '../../../../lifecycle/spec/parts';

/** A parsed `gates.fairness` from what a spec would say. */
function fairnessGate(spec: unknown = {}): FairnessGateSpec {
  return fairnessGateSchema.parse(spec);
}

function checkNamed(checks: GateCheck[], name: string): GateCheck {
  const check = checks.find((candidate) => candidate.name === name);
  if (!check) throw new Error(`no check ${name} among ${checks.map((c) => c.name).join(', ')}`);
  return check;
}

interface RegressionSlice {
  label: string | null;
  rows: number;
  /** Every prediction is off by this much... */
  error: number;
  /** ...alternating over and under, unless the slice is biased (always over). */
  biased?: boolean;
}

/** Bend times (s) of test rows in slices, with predictions off by each slice's error. */
function regressionRows(slices: RegressionSlice[]) {
  const segment: (string | null)[] = [];
  const y: number[] = [];
  const prediction: number[] = [];
  for (const slice of slices) {
    for (let i = 0; i < slice.rows; i++) {
      const bendSeconds = 40 + ((i * 7) % 23);
      const sign = slice.biased || i % 2 === 0 ? 1 : -1;
      segment.push(slice.label);
      y.push(bendSeconds);
      prediction.push(bendSeconds + sign * slice.error);
    }
  }
  return { segment, y, prediction };
}

interface BinarySlice {
  label: string;
  /** Rows whose part actually failed inspection, and how many of them the model flagged. */
  positives: number;
  caught: number;
  /** Rows that passed inspection, and how many of them the model flagged anyway. */
  negatives: number;
  falseAlarms: number;
}

/** Inspection outcomes (1 = failed) and failure probabilities for slices with the given counts. */
function binaryRows(slices: BinarySlice[]) {
  const segment: string[] = [];
  const y: number[] = [];
  const prediction: number[] = [];
  const add = (label: string, outcome: number, flagged: boolean) => {
    segment.push(label);
    y.push(outcome);
    prediction.push(flagged ? 0.9 : 0.1);
  };
  for (const slice of slices) {
    for (let i = 0; i < slice.positives; i++) add(slice.label, 1, i < slice.caught);
    for (let i = 0; i < slice.negatives; i++) add(slice.label, 0, i < slice.falseAlarms);
  }
  return { segment, y, prediction };
}

function regressionInput(slices: RegressionSlice[], gate = fairnessGate()): FairnessGateInput {
  const { segment, y, prediction } = regressionRows(slices);
  return { task: 'regression', segments: { material_family: segment }, y, prediction, gate, targetUnit: 's' };
}

function binaryInput(slices: BinarySlice[], gate = fairnessGate()): FairnessGateInput {
  const { segment, y, prediction } = binaryRows(slices);
  return { task: 'binary', segments: { machine: segment }, y, prediction, gate };
}

describe('evaluateFairnessGate: regression', () => {
  it('fails a slice whose error is far above the overall error, and passes the others', () => {
    const input = regressionInput([
      { label: 'steel', rows: 300, error: 1 },
      { label: 'titanium', rows: 60, error: 4 },
    ]);
    const { verdict, slices, overall } = evaluateFairnessGate(input);
    const overallRmse = rmse(input.y, input.prediction);
    const titaniumRatio = 4 / overallRmse;
    expect(titaniumRatio).toBeGreaterThan(1.5);

    expect(verdict.gate).toBe('fairness');
    expect(verdict.passed).toBe(false);
    const titanium = checkNamed(verdict.checks, 'error-ratio:material_family=titanium');
    expect(titanium).toMatchObject({ passed: false, judged: true, bound: 1.5 });
    expect(titanium.value).toBeCloseTo(titaniumRatio, 12);
    expect(titanium.message).toBe(
      `material_family = titanium (60 rows): error ${formatNumber(titaniumRatio)}x the overall ` +
        `(RMSE 4 s against ${formatNumber(overallRmse)} s), above the 1.5x bound`,
    );
    const steel = checkNamed(verdict.checks, 'error-ratio:material_family=steel');
    expect(steel).toMatchObject({ passed: true, judged: true });
    expect(steel.value).toBeCloseTo(1 / overallRmse, 12);
    expect(steel.message).toMatch(/within the 1\.5x bound$/);
    // maxAbsBias not given: no bias checks.
    expect(verdict.checks.some((check) => check.name.startsWith('bias:'))).toBe(false);

    // The slice table for the model card.
    expect(overall.rows).toBe(360);
    expect(overall.rmse).toBeCloseTo(overallRmse, 12);
    expect(slices.map((s) => [s.segment, s.slice, s.rows, s.judged])).toEqual([
      ['material_family', 'steel', 300, true],
      ['material_family', 'titanium', 60, true],
    ]);
    expect(slices[1]?.rmse).toBeCloseTo(4, 12);
    expect(slices[1]?.errorRatio).toBeCloseTo(titaniumRatio, 12);
    expect(slices[1]?.share).toBeCloseTo(60 / 360, 12);
  });

  it('passes slices served about equally well', () => {
    const { verdict } = evaluateFairnessGate(
      regressionInput([
        { label: 'steel', rows: 120, error: 2 },
        { label: 'aluminium', rows: 80, error: 2.2 },
      ]),
    );
    expect(verdict.passed).toBe(true);
    expect(verdict.checks.map((check) => [check.name, check.passed, check.judged])).toEqual([
      ['error-ratio:material_family=steel', true, true],
      ['error-ratio:material_family=aluminium', true, true],
    ]);
  });

  it('reports a slice below the minimum support without judging it', () => {
    const input = regressionInput([
      { label: 'steel', rows: 300, error: 1 },
      { label: 'titanium', rows: 10, error: 10 },
    ]);
    const { verdict, slices } = evaluateFairnessGate(input);
    const titanium = checkNamed(verdict.checks, 'error-ratio:material_family=titanium');
    expect(titanium).toMatchObject({ passed: true, judged: false });
    expect(titanium.value).toBeCloseTo(10 / rmse(input.y, input.prediction), 12);
    expect(titanium.message).toMatch(
      /^material_family = titanium \(10 rows\): error .*; too few rows to judge \(fewer than 30\)$/,
    );
    expect(verdict.passed).toBe(true);
    expect(slices.find((s) => s.slice === 'titanium')?.judged).toBe(false);

    // The same slice with a lower support bound is judged, and fails.
    const judged = evaluateFairnessGate({ ...input, gate: fairnessGate({ minSliceSupport: 10 }) });
    expect(checkNamed(judged.verdict.checks, 'error-ratio:material_family=titanium')).toMatchObject({
      passed: false,
      judged: true,
    });
  });

  it('fails a slice whose predictions are too high on average when maxAbsBias is given', () => {
    const input = regressionInput(
      [
        { label: 'steel', rows: 100, error: 1 },
        { label: 'aluminium', rows: 100, error: 2, biased: true },
      ],
      fairnessGate({ maxAbsBias: 1 }),
    );
    const { verdict, slices } = evaluateFairnessGate(input);
    // Error ratios are fine (2 / 1.58); only the bias fails.
    expect(checkNamed(verdict.checks, 'error-ratio:material_family=aluminium').passed).toBe(true);
    const aluminium = checkNamed(verdict.checks, 'bias:material_family=aluminium');
    expect(aluminium).toMatchObject({ passed: false, judged: true, value: 2, bound: 1 });
    expect(aluminium.message).toBe(
      'material_family = aluminium (100 rows): predictions 2 s too high on average, above the 1 s bound',
    );
    const steel = checkNamed(verdict.checks, 'bias:material_family=steel');
    expect(steel).toMatchObject({ passed: true, value: 0 });
    expect(steel.message).toBe(
      'material_family = steel (100 rows): predictions right on average, within the 1 s bound',
    );
    expect(verdict.passed).toBe(false);
    // The same rows alone: the slice table's bias is theirs.
    const aluminiumRows = regressionRows([{ label: 'aluminium', rows: 100, error: 2, biased: true }]);
    expect(slices.find((s) => s.slice === 'aluminium')?.bias).toBeCloseTo(
      meanError(aluminiumRows.y, aluminiumRows.prediction),
      12,
    );
  });

  it('judges every segment column, categorical columns and rows without a value included', () => {
    const { segment, y, prediction } = regressionRows([
      { label: 'steel', rows: 100, error: 1 },
      { label: null, rows: 40, error: 5 },
    ]);
    const machine = categoricalFromLabels(
      'machine',
      y.map((_, i) => (i % 2 === 0 ? 'laser-1' : 'press-brake-2')),
    );
    const { verdict, slices } = evaluateFairnessGate({
      task: 'regression',
      segments: { material_family: segment, machine },
      y,
      prediction,
      gate: fairnessGate(),
    });
    expect(slices.map((s) => [s.segment, s.slice, s.missing])).toEqual([
      ['material_family', 'steel', false],
      ['material_family', '(missing)', true],
      ['machine', 'laser-1', false],
      ['machine', 'press-brake-2', false],
    ]);
    const missing = checkNamed(verdict.checks, 'error-ratio:material_family=(missing)');
    expect(missing.passed).toBe(false);
    expect(missing.message).toMatch(/^material_family missing \(40 rows\): /);
    expect(checkNamed(verdict.checks, 'error-ratio:machine=laser-1').passed).toBe(true);
  });

  it('fails slices whose error cannot be computed (missing predictions)', () => {
    const input = regressionInput([
      { label: 'steel', rows: 40, error: 1 },
      { label: 'titanium', rows: 40, error: 1 },
    ]);
    const prediction = Array.from(input.prediction);
    prediction[0] = Number.NaN;
    const { verdict, slices } = evaluateFairnessGate({
      ...input,
      prediction,
      gate: fairnessGate({ maxAbsBias: 5 }),
    });
    expect(verdict.passed).toBe(false);
    const steel = checkNamed(verdict.checks, 'error-ratio:material_family=steel');
    expect(steel).toMatchObject({ passed: false, judged: true });
    expect(steel.value).toBeUndefined();
    expect(steel.message).toContain('could not be computed');
    expect(checkNamed(verdict.checks, 'bias:material_family=steel').passed).toBe(false);
    expect(slices.find((s) => s.slice === 'steel')?.rmse).toBeNull();
    // The verdict survives JSON unchanged: no NaN hides in it.
    expect(JSON.parse(JSON.stringify(verdict))).toEqual(verdict);
  });

  it('passes exact predictions (overall error 0)', () => {
    const input = regressionInput([
      { label: 'steel', rows: 40, error: 0 },
      { label: 'titanium', rows: 40, error: 0 },
    ]);
    const { verdict, slices } = evaluateFairnessGate(input);
    expect(verdict.passed).toBe(true);
    expect(verdict.checks.every((check) => check.judged && check.passed)).toBe(true);
    expect(slices[0]?.errorRatio).toBeNull();
  });

  it('judges nothing on an empty test set or without segment columns, and refuses columns of the wrong length', () => {
    const empty = evaluateFairnessGate({
      task: 'regression',
      segments: { material_family: [] },
      y: [],
      prediction: [],
      gate: fairnessGate(),
    });
    expect(empty.verdict.checks).toEqual([
      expect.objectContaining({ name: 'no-rows:material_family', judged: false }),
    ]);
    expect(empty.slices).toEqual([]);
    expect(empty.overall).toMatchObject({ rows: 0, rmse: null });

    const input = regressionInput([{ label: 'steel', rows: 40, error: 2 }]);
    const unsegmented = evaluateFairnessGate({ ...input, segments: {} });
    expect(unsegmented.verdict.checks).toEqual([
      expect.objectContaining({ name: 'segments', judged: false }),
    ]);
    expect(unsegmented.overall.rows).toBe(40);
    expect(unsegmented.overall.rmse).toBeCloseTo(2, 12);

    expect(() => evaluateFairnessGate({ ...input, segments: { material_family: ['steel'] } })).toThrow(
      '1 segment values for 40 rows',
    );
  });
});

describe('evaluateFairnessGate: binary', () => {
  // Laser 1 flags 30 % of its parts and catches 18 of 20 failures.
  const laser: BinarySlice = { label: 'laser-1', positives: 20, caught: 18, negatives: 80, falseAlarms: 12 };

  it('fails disparate impact under the bound and passes it above', () => {
    // Press brake 2 flags 20 %: 0.2 / 0.3 = 0.67 < 0.8.
    const unfair = evaluateFairnessGate(
      binaryInput([
        laser,
        { label: 'press-brake-2', positives: 20, caught: 18, negatives: 80, falseAlarms: 2 },
      ]),
    );
    const impact = checkNamed(unfair.verdict.checks, 'disparate-impact:machine');
    expect(impact).toMatchObject({ passed: false, judged: true, bound: 0.8 });
    expect(impact.value).toBeCloseTo(0.2 / 0.3, 12);
    expect(impact.message).toBe(
      'machine: predicted positive for 20 % of press-brake-2 and 30 % of laser-1; disparate impact 0.6667, below the 0.8 bound',
    );
    expect(checkNamed(unfair.verdict.checks, 'equal-opportunity:machine').passed).toBe(true);
    expect(unfair.verdict.passed).toBe(false);

    // Press brake 2 flags 27 %: 0.27 / 0.3 = 0.9.
    const fair = evaluateFairnessGate(
      binaryInput([
        laser,
        { label: 'press-brake-2', positives: 20, caught: 18, negatives: 80, falseAlarms: 9 },
      ]),
    );
    expect(checkNamed(fair.verdict.checks, 'disparate-impact:machine').value).toBeCloseTo(0.9, 12);
    expect(fair.verdict.passed).toBe(true);

    // 0.32 / 0.4 is 0.7999999999999999 in floating point: exactly at the bound still passes.
    const busyLaser = { ...laser, falseAlarms: 22 };
    const pressBrakeAtBound = {
      label: 'press-brake-2',
      positives: 20,
      caught: 18,
      negatives: 80,
      falseAlarms: 14,
    };
    const atBound = evaluateFairnessGate(binaryInput([busyLaser, pressBrakeAtBound]));
    expect(checkNamed(atBound.verdict.checks, 'disparate-impact:machine').passed).toBe(true);
    // ...and a stricter spec fails it.
    const strict = evaluateFairnessGate({
      ...binaryInput([busyLaser, pressBrakeAtBound]),
      gate: fairnessGate({ minDisparateImpact: 0.85 }),
    });
    expect(checkNamed(strict.verdict.checks, 'disparate-impact:machine').passed).toBe(false);
  });

  it('fails equal opportunity when true-positive rates differ by more than the bound', () => {
    // Same share flagged (30 %), but press brake 2 catches only 12 of 20 failures: 0.9 - 0.6 = 0.3.
    const unequal = evaluateFairnessGate(
      binaryInput([
        laser,
        { label: 'press-brake-2', positives: 20, caught: 12, negatives: 80, falseAlarms: 18 },
      ]),
    );
    expect(checkNamed(unequal.verdict.checks, 'disparate-impact:machine').passed).toBe(true);
    const opportunity = checkNamed(unequal.verdict.checks, 'equal-opportunity:machine');
    expect(opportunity).toMatchObject({ passed: false, judged: true, bound: 0.1 });
    expect(opportunity.value).toBeCloseTo(0.3, 12);
    expect(opportunity.message).toBe(
      'machine: actual positives caught range from 60 % in press-brake-2 to 90 % in laser-1, 30 percentage points apart, above the 10-point bound',
    );
    expect(unequal.verdict.passed).toBe(false);

    // 17 of 20: 0.05 apart.
    const equal = evaluateFairnessGate(
      binaryInput([
        laser,
        { label: 'press-brake-2', positives: 20, caught: 17, negatives: 80, falseAlarms: 13 },
      ]),
    );
    expect(checkNamed(equal.verdict.checks, 'equal-opportunity:machine')).toMatchObject({ passed: true });
    expect(equal.verdict.passed).toBe(true);

    // 0.8 - 0.7 is 0.10000000000000009 in floating point: exactly at the bound still passes.
    const atBound = evaluateFairnessGate(
      binaryInput([
        { label: 'laser-1', positives: 20, caught: 16, negatives: 80, falseAlarms: 14 },
        { label: 'press-brake-2', positives: 20, caught: 14, negatives: 80, falseAlarms: 16 },
      ]),
    );
    expect(checkNamed(atBound.verdict.checks, 'equal-opportunity:machine').passed).toBe(true);
  });

  it('leaves small slices and slices without positives out of the comparison, and reports them', () => {
    const { verdict, slices } = evaluateFairnessGate(
      binaryInput([
        laser,
        { label: 'press-brake-2', positives: 20, caught: 18, negatives: 80, falseAlarms: 9 },
        // Flags everything, but has only 10 rows: not judged, does not fail the gate.
        { label: 'punch-3', positives: 2, caught: 0, negatives: 8, falseAlarms: 8 },
        // No failures on this machine: no true-positive rate to compare.
        { label: 'saw-4', positives: 0, caught: 0, negatives: 50, falseAlarms: 15 },
      ]),
    );
    expect(verdict.passed).toBe(true);
    const small = checkNamed(verdict.checks, 'small-slice:machine=punch-3');
    expect(small).toMatchObject({ passed: true, judged: false });
    expect(small.message).toBe(
      'machine = punch-3 (10 rows): predicted positive 80 % of the time, 0 % of actual positives caught; too few rows to judge (fewer than 30)',
    );
    const impact = checkNamed(verdict.checks, 'disparate-impact:machine');
    expect(impact.value).toBeCloseTo(0.27 / 0.3, 12);
    expect(impact.message).toMatch(/; left out: punch-3 \(10 rows, too few\)$/);
    const opportunity = checkNamed(verdict.checks, 'equal-opportunity:machine');
    expect(opportunity.message).toMatch(
      /; left out: saw-4 \(no actual positives\), punch-3 \(10 rows, too few\)$/,
    );
    expect(slices.find((s) => s.slice === 'saw-4')).toMatchObject({
      rows: 50,
      positives: 0,
      positivePredictionRate: 0.3,
      truePositiveRate: null,
      judged: true,
    });
    expect(slices.find((s) => s.slice === 'punch-3')?.judged).toBe(false);
  });

  it('does not judge a segment with fewer than two slices big enough to compare', () => {
    const { verdict } = evaluateFairnessGate(
      binaryInput([laser, { label: 'punch-3', positives: 2, caught: 0, negatives: 8, falseAlarms: 0 }]),
    );
    expect(checkNamed(verdict.checks, 'disparate-impact:machine')).toMatchObject({
      passed: true,
      judged: false,
    });
    expect(checkNamed(verdict.checks, 'equal-opportunity:machine')).toMatchObject({
      passed: true,
      judged: false,
    });
    expect(verdict.passed).toBe(true);
  });

  it('treats slices where nothing is predicted positive as equal', () => {
    const { verdict } = evaluateFairnessGate(
      binaryInput([
        { label: 'laser-1', positives: 0, caught: 0, negatives: 40, falseAlarms: 0 },
        { label: 'press-brake-2', positives: 0, caught: 0, negatives: 40, falseAlarms: 0 },
      ]),
    );
    expect(checkNamed(verdict.checks, 'disparate-impact:machine')).toMatchObject({
      passed: true,
      judged: true,
      value: 1,
    });
    // One flags some parts, the other none: disparate impact 0.
    const { verdict: skewed } = evaluateFairnessGate(
      binaryInput([
        { label: 'laser-1', positives: 0, caught: 0, negatives: 40, falseAlarms: 4 },
        { label: 'press-brake-2', positives: 0, caught: 0, negatives: 40, falseAlarms: 0 },
      ]),
    );
    expect(checkNamed(skewed.checks, 'disparate-impact:machine')).toMatchObject({ passed: false, value: 0 });
  });
});

describe('evaluateFairnessGate: multiclass', () => {
  it('judges the ratio of slice to overall misclassification rate', () => {
    const k = 3;
    const segment: string[] = [];
    const y: number[] = [];
    const prediction: number[] = [];
    // Defect class per part; `wrong` of a slice's rows are predicted as the next class.
    const add = (label: string, rows: number, wrong: number) => {
      for (let i = 0; i < rows; i++) {
        const defect = i % k;
        const predicted = i < wrong ? (defect + 1) % k : defect;
        segment.push(label);
        y.push(defect);
        prediction.push(...Array.from({ length: k }, (_, c) => (c === predicted ? 0.8 : 0.1)));
      }
    };
    add('steel', 100, 5);
    add('titanium', 50, 15);
    const { verdict, slices, overall } = evaluateFairnessGate({
      task: 'multiclass',
      segments: { material_family: segment },
      y,
      prediction,
      gate: fairnessGate(),
    });
    const overallError = 20 / 150;
    expect(overall.accuracy).toBeCloseTo(1 - overallError, 12);
    const titanium = checkNamed(verdict.checks, 'error-ratio:material_family=titanium');
    expect(titanium).toMatchObject({ passed: false, judged: true });
    expect(titanium.value).toBeCloseTo(0.3 / overallError, 12);
    expect(titanium.message).toBe(
      'material_family = titanium (50 rows): misclassified 30 % of the time, 2.25x the overall 13.3 %, above the 1.5x bound',
    );
    expect(checkNamed(verdict.checks, 'error-ratio:material_family=steel')).toMatchObject({ passed: true });
    expect(verdict.passed).toBe(false);
    expect(slices.map((s) => [s.slice, s.rows])).toEqual([
      ['steel', 100],
      ['titanium', 50],
    ]);
    expect(slices[1]?.accuracy).toBeCloseTo(0.7, 12);
    expect(slices[1]?.errorRatio).toBeCloseTo(0.3 / overallError, 12);
  });
});
