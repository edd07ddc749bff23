import { describe, expect, it } from 'vitest';
import { encodeFeatures, prepareTrainingData, type TrainingData } from '../../../ml/dataset';
import {
  fitLinear,
  predictLinear,
  predictLinearRaw,
  predictLinearTable,
  trainLinear,
  type LinearFit,
} from '../../../ml/linear';
import { accuracy } from '../../../ml/metrics';
import type { LinearModel, TrainingProgress } from '../../../ml/model';
import { Random } from '../../../ml/random';
import { categoricalFromLabels, numericFromValues, Table } from '../../../ml/table';

/** Deterministic uniform [0, 1) numbers, so data and expectations never move. */
function random(seed: number): () => number {
  const generator = new Random(seed);
  return () => generator.next();
}

function gaussian(next: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

function populationStd(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { mean, std: Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length) };
}

function regressionData(columns: Record<string, number[]>, y: number[]): TrainingData {
  const table = new Table([
    ...Object.entries(columns).map(([name, values]) => numericFromValues(name, values)),
    numericFromValues('y', y),
  ]);
  return prepareTrainingData(table, { target: 'y', features: Object.keys(columns), task: 'regression' });
}

describe('trainLinear: ridge regression', () => {
  const x1 = [0.5, 1.5, -2, 3, 4.25, -1, 0, 2.5, 7, -3.5];
  const x2 = [10, 12, 9, 15, 11, 8, 13, 14, 7, 12.5];
  const y = x1.map((a, i) => 3 + 2 * a - 1 * (x2[i] as number));

  it('recovers the coefficients of noise-free data without a penalty', () => {
    const model = trainLinear(regressionData({ x1, x2 }, y), { l2: 0 });
    const s1 = populationStd(x1);
    const s2 = populationStd(x2);
    // On standardised inputs the weights are the raw coefficients times the feature's scale.
    expect(model.weights[0]?.[0]).toBeCloseTo(2 * s1.std, 9);
    expect(model.weights[0]?.[1]).toBeCloseTo(-1 * s2.std, 9);
    expect(model.intercepts[0]).toBeCloseTo(3 + 2 * s1.mean - s2.mean, 9);
    expect(model.numericPreprocessing.x1).toEqual({ imputeValue: s1.mean, mean: s1.mean, scale: s1.std });
    const table = new Table([numericFromValues('x1', [100, -7]), numericFromValues('x2', [0.5, 20])]);
    const predicted = predictLinearTable(model, table);
    expect(predicted[0]).toBeCloseTo(3 + 200 - 0.5, 8);
    expect(predicted[1]).toBeCloseTo(3 - 14 - 20, 8);
  });

  it('shrinks weights by exactly n / (n + l2) on orthogonal standardised features', () => {
    // Balanced +-1 columns: centred, orthogonal, population std 1, so X_j^T X_j = n.
    const a = [-1, 1, -1, 1, -1, 1, -1, 1];
    const b = [-1, -1, 1, 1, -1, -1, 1, 1];
    const target = a.map((v, i) => 5 + 3 * v - 2 * (b[i] as number) + (i % 3) * 0.1);
    const data = regressionData({ a, b }, target);
    const free = trainLinear(data, { l2: 0 });
    let previous = Infinity;
    for (const l2 of [1, 8, 100]) {
      const model = trainLinear(data, { l2 });
      for (let j = 0; j < 2; j++) {
        expect(model.weights[0]?.[j]).toBeCloseTo(((free.weights[0]?.[j] as number) * 8) / (8 + l2), 10);
      }
      // The intercept is not penalised: it stays the target mean.
      expect(model.intercepts[0]).toBeCloseTo(target.reduce((s, v) => s + v, 0) / 8, 10);
      const norm = Math.hypot(...(model.weights[0] as number[]));
      expect(norm).toBeLessThan(previous);
      previous = norm;
    }
  });

  it('learns imputation and gives all-missing and constant columns zero weight', () => {
    const data = regressionData(
      {
        gappy: [1, 2, Number.NaN, 5],
        empty: [Number.NaN, Number.NaN, Number.NaN, Number.NaN],
        flat: [0.1, 0.1, 0.1, 0.1],
      },
      [1, 2, 3, 4],
    );
    const model = trainLinear(data);
    const mean = 8 / 3;
    const std = Math.sqrt(((1 - mean) ** 2 + (2 - mean) ** 2 + (5 - mean) ** 2) / 4);
    expect(model.numericPreprocessing.gappy?.imputeValue).toBeCloseTo(mean, 12);
    expect(model.numericPreprocessing.gappy?.scale).toBeCloseTo(std, 12);
    expect(model.numericPreprocessing.empty).toEqual({ imputeValue: 0, mean: 0, scale: 1 });
    expect(model.numericPreprocessing.flat).toEqual({ imputeValue: 0.1, mean: 0.1, scale: 1 });
    expect(model.weights[0]?.[1]).toBe(0);
    expect(model.weights[0]?.[2]).toBe(0);
    // A row missing `gappy` scores as if it held the mean: weight x 0 + intercept.
    const missing = predictLinearTable(
      model,
      new Table([
        numericFromValues('gappy', [null]),
        numericFromValues('empty', [7]),
        numericFromValues('flat', [9]),
      ]),
    );
    expect(missing[0]).toBeCloseTo(model.intercepts[0] as number, 12);
  });

  it('fits one-hot categories, long category lists included, to the closed-form ridge solution', () => {
    // Ridge on one-hot only: w_c = n_c (ybar_c - b) / (n_c + l2), with b making sum_c w_c = 0.
    // Category c has 1 + c % 4 rows: unequal counts make a penalised intercept show.
    const check = (categories: number, solver: 'auto' | 'direct') => {
      const next = random(categories);
      const labels: string[] = [];
      const y: number[] = [];
      const counts = Array.from({ length: categories }, (_, c) => 1 + (c % 4));
      const sums = new Array<number>(categories).fill(0);
      counts.forEach((count, c) => {
        for (let r = 0; r < count; r++) {
          const value = Math.sin(c) * 4 + c / categories + next();
          labels.push(`c${c}`);
          y.push(value);
          sums[c] = (sums[c] as number) + value;
        }
      });
      const table = new Table([categoricalFromLabels('part', labels), numericFromValues('y', y)]);
      const data = prepareTrainingData(table, { target: 'y', features: ['part'], task: 'regression' });
      const l2 = 2;
      const fit = fitLinear(data, { l2, solver, tolerance: 1e-10 });
      let numerator = 0;
      let denominator = 0;
      counts.forEach((count, c) => {
        numerator += (sums[c] as number) / (count + l2);
        denominator += count / (count + l2);
      });
      const b = numerator / denominator;
      const expected = counts.map((count, c) => ((sums[c] as number) - count * b) / (count + l2));
      return { fit, b, expected };
    };
    const small = check(40, 'auto');
    expect(small.fit.solver).toBe('direct');
    expect(small.fit.model.intercepts[0]).toBeCloseTo(small.b, 9);
    // Category c's weight sits at its code, wherever training put it (ml/categoryOrder.ts).
    const weightOf = (fit: LinearFit, c: number) => {
      const part = fit.model.features[0];
      return fit.model.weights[0]?.[part?.kind === 'categorical' ? part.categories.indexOf(`c${c}`) : -1];
    };
    small.expected.forEach((w, c) => expect(weightOf(small.fit, c)).toBeCloseTo(w, 9));
    const long = check(1500, 'auto');
    expect(long.fit.solver).toBe('lbfgs');
    expect(long.fit.converged).toBe(true);
    expect(long.fit.model.intercepts[0]).toBeCloseTo(long.b, 5);
    long.expected.forEach((w, c) => expect(weightOf(long.fit, c)).toBeCloseTo(w, 5));
  });

  it('reports a single progress step', () => {
    const calls: TrainingProgress[] = [];
    const fit = fitLinear(regressionData({ x1 }, y), { onProgress: (p) => calls.push(p) });
    expect(calls).toEqual([{ iteration: 1, totalIterations: 1, trainLoss: fit.trainLoss }]);
  });

  it('refuses infinite features, empty data and one-class binary targets', () => {
    expect(() => trainLinear(regressionData({ x: [1, Infinity] }, [1, 2]))).toThrow(/Infinity in row 2/);
    expect(() => trainLinear(regressionData({ x: [] }, []))).toThrow(/0 rows/);
    const table = new Table([numericFromValues('x', [1, 2, 3]), categoricalFromLabels('t', ['a', 'a', 'a'])]);
    const oneClass = prepareTrainingData(table, { target: 't', features: ['x'], task: 'multiclass' });
    expect(() => trainLinear({ ...oneClass, task: 'binary', classLabels: ['a', 'b'] })).toThrow(/class "a"/);
  });
});

describe('predictLinear', () => {
  const model: LinearModel = {
    type: 'linear',
    task: 'regression',
    features: [
      { kind: 'numeric', name: 'thickness' },
      { kind: 'categorical', name: 'material', categories: ['steel', 'alu', 'copper'] },
    ],
    numericPreprocessing: { thickness: { imputeValue: 2, mean: 3, scale: 0.5 } },
    weights: [[1.5, 10, -4, 0.25]],
    intercepts: [100],
  };
  const table = new Table([
    numericFromValues('thickness', [4, null, 3.5, 1]),
    categoricalFromLabels('material', ['alu', 'steel', 'titanium', null]),
  ]);
  // Hand computation: 100 + 1.5 (x - 3) / 0.5 + one-hot weight; NaN -> 2; titanium and missing -> 0.
  const expected = [100 + 3 - 4, 100 - 3 + 10, 100 + 1.5, 100 - 6];

  it('imputes, standardises and one-hot encodes like the contract says', () => {
    expect(Array.from(predictLinearTable(model, table))).toEqual(expected);
  });

  it('applies the sigmoid for binary and the softmax for multiclass', () => {
    const binary = predictLinearTable({ ...model, task: 'binary', intercepts: [-100] }, table);
    expected.forEach((score, i) => expect(binary[i]).toBeCloseTo(sigmoid(score - 200), 12));
    const multiclass: LinearModel = {
      ...model,
      task: 'multiclass',
      weights: [model.weights[0] as number[], [0, 0, 0, 0], [-1.5, 0, 0, 1000]],
      intercepts: [3, 0, 0],
    };
    const raw = predictLinearRaw(multiclass, encodeFeatures(table, multiclass.features));
    expect(Array.from(raw.subarray(0, 3))).toEqual([2, 0, -3]);
    const probabilities = predictLinearTable(multiclass, table);
    const z = [2, 0, -3];
    const sum = z.reduce((s, v) => s + Math.exp(v), 0);
    z.forEach((v, c) => expect(probabilities[c]).toBeCloseTo(Math.exp(v) / sum, 12));
    // Row 4 is missing its material: the 1000 weight must not leak in, and nothing overflows.
    expect(Array.from(raw.subarray(9, 12))).toEqual([-3, 0, 6]);
  });

  it('translates categories encoded against another category list by label', () => {
    const data = prepareTrainingData(new Table([...table.columns, numericFromValues('y', [1, 2, 3, 4])]), {
      target: 'y',
      features: ['thickness', 'material'],
      task: 'regression',
    });
    // This encoding knows 'titanium' and orders alu before steel; the model's codes still apply.
    expect(Array.from(predictLinear(model, data))).toEqual(expected);
    expect(() =>
      predictLinear(model, { ...data, features: data.features.slice(1), columns: data.columns.slice(1) }),
    ).toThrow(/needs feature "thickness"/);
  });
});

describe('trainLinear: logistic regression', () => {
  it('matches group frequencies on a saturated model without a penalty', () => {
    // x in {0, 1}: the MLE predicts each group's positive rate, 3/4 and 1/5.
    const x = [0, 0, 0, 0, 1, 1, 1, 1, 1];
    const y = ['yes', 'yes', 'no', 'yes', 'no', 'no', 'yes', 'no', 'no'];
    const table = new Table([numericFromValues('x', x), categoricalFromLabels('y', y)]);
    const data = prepareTrainingData(table, { target: 'y', features: ['x'], task: 'binary' });
    expect(data.classLabels).toEqual(['no', 'yes']);
    const fit = fitLinear(data, { l2: 0, tolerance: 1e-12 });
    expect(fit.converged).toBe(true);
    const p = predictLinearTable(fit.model, table);
    expect(p[0]).toBeCloseTo(0.75, 10);
    expect(p[4]).toBeCloseTo(0.2, 10);
    expect(fit.model.classLabels).toEqual(['no', 'yes']);
  });

  const next = random(7);
  const rows = 600;
  const a: number[] = [];
  const b: (number | null)[] = [];
  const shift: string[] = [];
  const label: string[] = [];
  for (let i = 0; i < rows; i++) {
    const u = gaussian(next) * 3 + 10;
    const v = gaussian(next);
    const s = ['early', 'late', 'night'][i % 3] as string;
    a.push(u);
    b.push(i % 17 === 0 ? null : v);
    shift.push(s);
    const z = 2 * (u - 10) - 3 * v + (s === 'night' ? 2 : 0) + 0.5 * gaussian(next);
    label.push(z > 0 ? 'fail' : 'ok');
  }
  const table = new Table([
    numericFromValues('a', a),
    numericFromValues('b', b),
    categoricalFromLabels('shift', shift),
    categoricalFromLabels('label', label),
  ]);
  const data = prepareTrainingData(table, { target: 'label', features: ['a', 'b', 'shift'], task: 'binary' });

  it('separates nearly separable data, with mean probability = positive rate', () => {
    const calls: TrainingProgress[] = [];
    const fit = fitLinear(data, { onProgress: (progress) => calls.push(progress) });
    expect(fit.solver).toBe('direct');
    expect(fit.converged).toBe(true);
    const p = predictLinear(fit.model, data);
    expect(
      accuracy(
        data.target,
        p.map((q) => (q >= 0.5 ? 1 : 0)),
      ),
    ).toBeGreaterThan(0.93);
    // The unpenalised intercept's optimality condition: sum(p - y) = 0.
    const positives = data.target.reduce((s, v) => s + v, 0);
    expect(p.reduce((s, v) => s + v, 0)).toBeCloseTo(positives, 5);
    expect(calls.map((c) => c.iteration)).toEqual(Array.from({ length: fit.iterations }, (_, i) => i + 1));
    expect(calls.every((c) => c.totalIterations === 100)).toBe(true);
    expect(calls.at(-1)?.trainLoss).toBeCloseTo(fit.trainLoss, 12);
    expect(calls[0]?.trainLoss).toBeGreaterThan(fit.trainLoss);
  });

  it('gives the same model by Newton and by L-BFGS', () => {
    const newton = trainLinear(data, { l2: 3 });
    const lbfgs = fitLinear(data, { l2: 3, solver: 'lbfgs', tolerance: 1e-9, maxIterations: 2000 });
    expect(lbfgs.converged).toBe(true);
    newton.weights[0]?.forEach((w, j) => expect(lbfgs.model.weights[0]?.[j]).toBeCloseTo(w, 5));
    expect(lbfgs.model.intercepts[0]).toBeCloseTo(newton.intercepts[0] as number, 5);
  });
});

describe('trainLinear: multinomial softmax', () => {
  const next = random(11);
  const centres = [
    [0, 0],
    [4, 0],
    [0, 4],
  ];
  const x: number[] = [];
  const w: number[] = [];
  const grade: string[] = [];
  const cls: string[] = [];
  for (let i = 0; i < 450; i++) {
    const k = i % 3;
    x.push((centres[k]?.[0] as number) + gaussian(next));
    w.push((centres[k]?.[1] as number) + gaussian(next));
    grade.push(next() < 0.5 ? 'A' : 'B');
    cls.push(['bend', 'cut', 'weld'][k] as string);
  }
  const table = new Table([
    numericFromValues('x', x),
    numericFromValues('w', w),
    categoricalFromLabels('grade', grade),
    categoricalFromLabels('op', cls),
  ]);
  const data = prepareTrainingData(table, {
    target: 'op',
    features: ['x', 'w', 'grade'],
    task: 'multiclass',
  });

  it('gives probability rows that sum to 1 and class totals that match the data', () => {
    const calls: TrainingProgress[] = [];
    const fit = fitLinear(data, { onProgress: (progress) => calls.push(progress) });
    expect(fit.solver).toBe('lbfgs');
    expect(fit.converged).toBe(true);
    expect(fit.model.weights).toHaveLength(3);
    expect(fit.model.intercepts.reduce((s, b) => s + b, 0)).toBeCloseTo(0, 12);
    expect(calls).toHaveLength(fit.iterations);
    expect(calls.every((c, i) => c.iteration === i + 1 && c.totalIterations === 500)).toBe(true);
    const p = predictLinear(fit.model, data);
    expect(p).toHaveLength(450 * 3);
    const totals = [0, 0, 0];
    let hits = 0;
    for (let i = 0; i < 450; i++) {
      const row = Array.from(p.subarray(i * 3, i * 3 + 3));
      expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
      row.forEach((v, c) => (totals[c] = (totals[c] as number) + v));
      if (row.indexOf(Math.max(...row)) === data.target[i]) hits++;
    }
    expect(hits / 450).toBeGreaterThan(0.9);
    totals.forEach((total) => expect(total).toBeCloseTo(150, 3));
  });
});
