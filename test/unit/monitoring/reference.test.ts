import { describe, expect, it } from 'vitest';
import { binaryMetrics, multiclassMetrics } from '../../../ml/metrics';
import { categoricalFromLabels, numericFromValues, Table } from '../../../ml/table';
import {
  buildReferenceProfile,
  type CategoricalReference,
  type NumericReference,
  REFERENCE_PROFILE_FORMAT,
} from '../../../monitoring';
import { buildSpec, features } from '../../specBuilder';
import { spec, trainedProfile } from './fixtures';

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

describe('buildReferenceProfile', () => {
  const profile = trainedProfile();

  it('bins each numeric feature of the training rows into about ten quantile bins and a missing bucket', () => {
    const thickness = profile.features.find((feature) => feature.name === 'thickness_mm') as NumericReference;
    expect(thickness.kind).toBe('numeric');
    expect(thickness.edges).toHaveLength(9);
    expect(thickness.proportions).toHaveLength(11);
    for (const share of thickness.proportions.slice(0, 10)) expect(share).toBeCloseTo(0.1, 3);
    expect(thickness.proportions[10]).toBe(0);
    // Bend counts are whole numbers 0..12: the edges are counts seen, so no bin splits a count.
    const bends = profile.features.find((feature) => feature.name === 'bend_count') as NumericReference;
    expect(bends.edges.length).toBeLessThanOrEqual(9);
    expect(bends.edges.every((edge) => Number.isInteger(edge) && edge >= 0 && edge <= 12)).toBe(true);
    expect(sum(bends.proportions)).toBeCloseTo(1, 5);
  });

  it('keeps every training category with its share, largest first', () => {
    const family = profile.features.find(
      (feature) => feature.name === 'material_family',
    ) as CategoricalReference;
    expect(family.categories).toEqual(['mild_steel', 'aluminium', 'stainless_steel']);
    expect(family.proportions[0]).toBeCloseTo(0.5, 1);
    expect(family.proportions[1]).toBeCloseTo(0.3, 1);
    expect(family.missing).toBe(0);
    expect(sum(family.proportions)).toBeCloseTo(1, 5);
  });

  it('keeps the test predictions binned and the primary metric at training', () => {
    expect(profile.format).toBe(REFERENCE_PROFILE_FORMAT);
    expect(profile.trainingRows).toBe(4000);
    expect(profile.prediction.kind).toBe('numeric');
    expect(profile.prediction.rows).toBe(1000);
    expect(profile.performance.metric).toBe('rmse');
    expect(profile.performance.value).toBeCloseTo(3, 0);
    expect(profile.performance.testRows).toBe(1000);
    expect(Object.keys(profile.performance.metrics)).toEqual(
      expect.arrayContaining(['rmse', 'mae', 'mape', 'r2', 'bias']),
    );
  });

  it('is plain JSON of a few KB', () => {
    const json = JSON.stringify(profile);
    expect(JSON.parse(json)).toEqual(profile);
    expect(json.length).toBeLessThan(4096);
  });

  it('counts missing values and reads categories logged as numbers', () => {
    const table = new Table([
      numericFromValues('thickness_mm', [1, 2, null, 4]),
      numericFromValues('machine_id', [7, 7, 8, null]),
    ]);
    const reference = buildReferenceProfile({
      table,
      spec: buildSpec(
        { features: features({ thickness_mm: 'numeric', machine_id: 'categorical' }), segments: [] },
        spec,
      ),
      predictions: [1, 2],
      metrics: { count: 2, rmse: 1, mae: 1, mape: 0.1, mapeIgnored: 0, r2: 0.5, bias: 0 },
    });
    const [thickness, machine] = reference.features as [NumericReference, CategoricalReference];
    expect(thickness.proportions[thickness.proportions.length - 1]).toBe(0.25);
    expect(machine).toEqual({
      kind: 'categorical',
      name: 'machine_id',
      categories: ['7', '8'],
      proportions: [0.5, 0.25],
      missing: 0.25,
    });
  });

  it('binary: bins the probability of class 1 and takes AUC as the primary metric', () => {
    const table = new Table([categoricalFromLabels('Type', ['L', 'M', 'H', 'L'])]);
    const p = [0.1, 0.8, 0.3, 0.9];
    const reference = buildReferenceProfile({
      table,
      spec: buildSpec({
        task: 'binary',
        target: 'Machine failure',
        features: features({ Type: 'categorical' }),
      }),
      predictions: p,
      metrics: binaryMetrics([0, 1, 0, 1], p),
    });
    expect(reference.prediction).toMatchObject({ kind: 'numeric', rows: 4 });
    expect(reference.performance).toMatchObject({ metric: 'auc', value: 1 });
  });

  it('multiclass: keeps the predicted class shares and needs the class labels', () => {
    const table = new Table([categoricalFromLabels('finish', ['raw', 'painted', 'raw'])]);
    const probabilities = [0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.6, 0.3, 0.1];
    const input = {
      table,
      spec: buildSpec({
        task: 'multiclass',
        target: 'tolerance_class',
        features: features({ finish: 'categorical' }),
      }),
      predictions: probabilities,
      metrics: multiclassMetrics([0, 1, 0], probabilities, 3),
    };
    const reference = buildReferenceProfile({ ...input, classLabels: ['coarse', 'medium', 'fine'] });
    expect(reference.prediction).toEqual({
      kind: 'classes',
      rows: 3,
      classLabels: ['coarse', 'medium', 'fine'],
      proportions: [0.666667, 0.333333, 0],
    });
    expect(reference.performance.metric).toBe('logLoss');
    expect(() => buildReferenceProfile(input)).toThrow(/class labels/);
  });

  it('refuses a feature the training rows do not have', () => {
    const table = new Table([numericFromValues('thickness_mm', [1, 2])]);
    expect(() =>
      buildReferenceProfile({
        table,
        spec,
        predictions: [1, 2],
        metrics: { count: 2, rmse: 1, mae: 1, mape: 0.1, mapeIgnored: 0, r2: 0.5, bias: 0 },
      }),
    ).toThrow(/No column "bend_count"/);
  });
});
