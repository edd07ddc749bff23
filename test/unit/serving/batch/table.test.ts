/**
 * A staged batch as the table a version scores, and its scores as result-table predictions: taught
 * category mappings apply as serving applies them, unseen categories are counted, and a classifier's
 * label is the first most probable class, as serving picks it.
 */
import { describe, expect, it } from 'vitest';
import { featureBuildDefinition, featureBuildHash } from '../../../../lifecycle/features/build';
import type { Feature } from '../../../../ml/model';
import { type CategoricalColumn, categoricalFromLabels, type NumericColumn } from '../../../../ml/table';
import { batchPredictions, batchTable } from '../../../../serving/batch/table';
import { scoringTable, servingFeatureBuild } from '../../../../serving/featureBuild';

const features: Feature[] = [
  { kind: 'numeric', name: 'thickness_mm' },
  { kind: 'categorical', name: 'material', categories: ['mild_steel', 'stainless_steel'] },
];
const thickness: NumericColumn = {
  kind: 'numeric',
  name: 'thickness_mm',
  values: Float64Array.of(1, 2, 3, 4),
};
const material: CategoricalColumn = {
  kind: 'categorical',
  name: 'material',
  codes: Int32Array.of(0, 1, 2, -1),
  dictionary: ['mild_steel', 'titanium', 'brass'],
};
const rows = { rowCount: 4, numbers: [thickness], texts: [material] };

describe('batchTable', () => {
  it("takes the version's inputs, and counts the rows with a category it never saw", () => {
    const { table, unseen } = batchTable({ features }, rows, undefined);
    expect(table.columnNames).toEqual(['thickness_mm', 'material']);
    expect(table.categorical('material').dictionary).toEqual(['mild_steel', 'titanium', 'brass']);
    expect(unseen).toEqual({ material: 2 });
  });

  it('scores a taught category as the known one it was taught to be, and ignores a mapping to an unknown one', () => {
    const mappings = new Map([
      [
        'material',
        new Map([
          ['titanium', 'stainless_steel'],
          ['brass', 'bronze'],
        ]),
      ],
    ]);
    const { table, unseen } = batchTable({ features }, rows, mappings);
    expect(table.categorical('material').dictionary).toEqual(['mild_steel', 'stainless_steel', 'brass']);
    expect(Array.from(table.categorical('material').codes)).toEqual([0, 1, 2, -1]);
    // Still counted: the rows came with a category the model never saw.
    expect(unseen).toEqual({ material: 2 });
  });
});

describe('batchTable with derived features', () => {
  it('computes them from the raw inputs as serving does from a request', () => {
    const derived = [
      { name: 'cut_length_per_kw', expression: 'cut_length_mm / max(laser_power_kw, 1)' },
      { name: 'is_steel', expression: 'if(material_family == "steel", 1, 0)' },
      { name: 'release_hour', expression: 'hour(released_at)' },
    ];
    const types: Record<string, 'number' | 'category' | 'time'> = {
      cut_length_mm: 'number',
      laser_power_kw: 'number',
      material_family: 'category',
      released_at: 'time',
    };
    const definition = featureBuildDefinition(derived, (name) => types[name]);
    const build = servingFeatureBuild(
      {
        featureBuild: {
          ...definition,
          sha256: featureBuildHash(definition),
          table: { key: 'k', hash: 'h'.repeat(64), rows: 4 },
        },
      },
      [
        { kind: 'categorical', name: 'material_family', categories: ['steel', 'aluminium'] },
        ...derived.map((feature): Feature => ({ kind: 'numeric', name: feature.name })),
      ],
    );
    if (!build) throw new Error('a definition with derived features gives a serving build');
    const request = [
      {
        material_family: 'steel',
        cut_length_mm: 1200,
        laser_power_kw: 6,
        released_at: Date.UTC(2026, 0, 5, 7),
      },
      {
        material_family: 'titanium',
        cut_length_mm: null,
        laser_power_kw: 0.5,
        released_at: Date.UTC(2026, 0, 5, 23),
      },
      { material_family: null, cut_length_mm: 50, laser_power_kw: null, released_at: null },
    ];
    const served = scoringTable(
      { features: build.requestFeatures, featureBuild: build },
      request,
      undefined,
    ).table;
    const column = (name: string) =>
      request.map((row) => row[name as keyof (typeof request)[number]] as number | null);
    const batch = batchTable(
      { features: build.requestFeatures, featureBuild: build },
      {
        rowCount: 3,
        numbers: ['cut_length_mm', 'laser_power_kw', 'released_at'].map((name) => ({
          kind: 'numeric' as const,
          name,
          values: Float64Array.from(column(name), (value) => value ?? Number.NaN),
        })),
        texts: [categoricalFromLabels('material_family', ['steel', 'titanium', null])],
      },
      undefined,
    ).table;
    expect(batch.columnNames).toEqual(served.columnNames);
    for (const feature of derived) {
      expect(Array.from(batch.numeric(feature.name).values)).toEqual(
        Array.from(served.numeric(feature.name).values),
      );
    }
  });
});

describe('batchPredictions', () => {
  it("passes a regression's values through", () => {
    const values = Float64Array.of(1.5, 2.5);
    expect(batchPredictions({ prediction: values }, 2, { width: 1 })).toEqual({ kind: 'value', values });
  });

  it('labels each row with its most probable class, the first of equal ones', () => {
    const predicted = batchPredictions({ probabilities: Float64Array.of(0.2, 0.8, 0.5, 0.5, 0.7, 0.3) }, 3, {
      width: 2,
      classLabels: ['fast', 'slow'],
    });
    expect(predicted.kind === 'label' && Array.from(predicted.best)).toEqual([1, 0, 0]);
    expect(predicted.kind === 'label' && predicted.classLabels.map(String)).toEqual(['fast', 'slow']);
  });

  it('names classes by their index when the model has no labels', () => {
    const predicted = batchPredictions({ probabilities: Float64Array.of(0.1, 0.2, 0.7) }, 1, { width: 3 });
    expect(predicted.kind === 'label' && predicted.classLabels.map(String)).toEqual(['0', '1', '2']);
  });
});
