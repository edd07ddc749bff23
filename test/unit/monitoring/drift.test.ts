import { describe, expect, it } from 'vitest';
import { categoricalFromLabels, numericFromValues, Table } from '../../../ml/table';
import {
  buildReferenceProfile,
  type FeatureDrift,
  featureDrift,
  predictionDrift,
  unseenCategories,
  UNSEEN_BUCKET,
} from '../../../monitoring';
import { buildSpec, features } from '../../specBuilder';
import { jobs, thresholds, trainedProfile } from './fixtures';

const profile = trainedProfile();

function driftOf(results: FeatureDrift[], feature: string): FeatureDrift {
  const result = results.find((candidate) => candidate.feature === feature);
  if (!result) throw new Error(`no drift of ${feature}`);
  return result;
}

describe('featureDrift', () => {
  it('raises nothing on a night like the training rows', () => {
    const night = jobs({ rows: 600, seed: 21 });
    const results = featureDrift(profile, night.table, thresholds);
    expect(results.map((result) => result.feature)).toEqual([
      'thickness_mm',
      'bend_count',
      'material_family',
      'machine_id',
      'shift',
    ]);
    for (const result of results) {
      expect(result).toMatchObject({ judged: true, alarm: false, rows: 600 });
      expect(result.value).toBeLessThan(result.statistic === 'psi' ? 0.1 : 0.01);
    }
    expect(driftOf(results, 'thickness_mm').statistic).toBe('psi');
    expect(driftOf(results, 'shift').statistic).toBe('js');
  });

  it('raises PSI past the alarm when parts come in thicker sheet', () => {
    const night = jobs({ rows: 600, seed: 22, thicker: 1 });
    const thickness = driftOf(featureDrift(profile, night.table, thresholds), 'thickness_mm');
    expect(thickness.value).toBeGreaterThan(0.2);
    expect(thickness).toMatchObject({ judged: true, alarm: true, threshold: 0.2 });
    // The chart data: the training shares and tonight's, per bin.
    expect(thickness.buckets).toHaveLength(11);
    expect(thickness.buckets[0]?.label).toMatch(/^≤ /);
    expect(thickness.buckets[10]).toEqual({ label: '(missing)', reference: 0, current: 0 });
  });

  it('raises a large Jensen-Shannon divergence when 30 % of parts are in titanium', () => {
    const night = jobs({ rows: 600, seed: 23, titaniumShare: 0.3 });
    const family = driftOf(featureDrift(profile, night.table, thresholds), 'material_family');
    expect(family.value).toBeGreaterThan(0.1);
    expect(family.alarm).toBe(true);
    const unseen = family.buckets.find((bucket) => bucket.label === UNSEEN_BUCKET);
    expect(unseen?.reference).toBe(0);
    expect(unseen?.current).toBeCloseTo(0.3, 1);
  });

  it('judges nothing on a quiet night, however different it looks', () => {
    const night = jobs({ rows: 40, seed: 24, titaniumShare: 0.5, thicker: 3 });
    for (const result of featureDrift(profile, night.table, thresholds)) {
      expect(result).toMatchObject({ judged: false, alarm: false, rows: 40 });
      expect(result.reason).toBe('only 40 rows, fewer than the 200 needed to judge');
    }
    // Still measured, for the page.
    expect(driftOf(featureDrift(profile, night.table, thresholds), 'thickness_mm').value).toBeGreaterThan(
      0.2,
    );
  });

  it('reports a feature the window has no column for without judging it', () => {
    const night = jobs({ rows: 300, seed: 25 });
    const withoutShift = night.table.select(['thickness_mm', 'bend_count', 'material_family', 'machine_id']);
    const shift = driftOf(featureDrift(profile, withoutShift, thresholds), 'shift');
    expect(shift).toMatchObject({ judged: false, alarm: false, value: null });
    expect(shift.reason).toMatch(/no column "shift"/);
  });

  it('reads columns logged with the other kind: numbers as labels, labels as numbers', () => {
    const machine = buildReferenceProfile({
      table: new Table([
        numericFromValues('machine_id', [1, 2, 1, 2]),
        categoricalFromLabels('mm', ['1', '2', '3', '4']),
      ]),
      spec: buildSpec({
        target: 'seconds',
        features: features({ machine_id: 'categorical', mm: 'numeric' }),
      }),
      predictions: [1],
      metrics: { count: 1, rmse: 1, mae: 1, mape: 0.1, mapeIgnored: 0, r2: null, bias: 0 },
    });
    const window = [categoricalFromLabels('machine_id', ['1', '2']), numericFromValues('mm', [1, 4])];
    const results = featureDrift(machine, window, { ...thresholds, minSamples: 1 });
    const [machineDrift, mmDrift] = results;
    expect(machineDrift).toMatchObject({ feature: 'machine_id', value: 0, alarm: false });
    // Training 1, 2, 3, 4 gives the edges 1, 2, 3, 4: tonight's "1" and "4" land in the first and fourth bins.
    expect(mmDrift?.buckets.map((bucket) => bucket.current)).toEqual([0.5, 0, 0, 0.5, 0, 0]);
    expect(unseenCategories(machine, window, { ...thresholds, minSamples: 1 })[0]?.unseenRows).toBe(0);
  });
});

describe('unseenCategories', () => {
  it('names titanium and raises the alarm at 30 % of the night', () => {
    const night = jobs({ rows: 600, seed: 23, titaniumShare: 0.3 });
    const [family, machine, shift] = unseenCategories(profile, night.table, thresholds);
    expect(family?.feature).toBe('material_family');
    expect(family?.values).toEqual([{ label: 'titanium', rows: family?.unseenRows }]);
    expect(family?.rate).toBeCloseTo(0.3, 1);
    expect(family).toMatchObject({ rows: 600, judged: true, alarm: true, threshold: 0.05 });
    expect(machine).toMatchObject({ unseenRows: 0, values: [], alarm: false });
    expect(shift).toMatchObject({ unseenRows: 0, values: [], alarm: false });
  });

  it('raises nothing when every category was seen at training', () => {
    const night = jobs({ rows: 600, seed: 21 });
    for (const result of unseenCategories(profile, night.table, thresholds)) {
      expect(result).toMatchObject({ unseenRows: 0, rate: 0, values: [], judged: true, alarm: false });
    }
  });

  it('names a brand-new category even on a quiet night, without the alarm', () => {
    const night = jobs({ rows: 40, seed: 26, titaniumShare: 0.3 });
    const [family] = unseenCategories(profile, night.table, thresholds);
    expect(family?.values[0]?.label).toBe('titanium');
    expect(family?.unseenRows).toBeGreaterThan(0);
    expect(family).toMatchObject({ judged: false, alarm: false });
    expect(family?.reason).toMatch(/fewer than the 200/);
  });

  it('stays below the alarm for a rare newcomer, and does not count missing values as unseen', () => {
    const labels = [
      ...new Array<string>(497).fill('mild_steel'),
      'copper',
      'copper',
      ...new Array<null>(100).fill(null),
      'brass',
    ];
    const window = [categoricalFromLabels('material_family', labels)];
    const [family] = unseenCategories(profile, window, thresholds);
    expect(family).toMatchObject({ rows: 600, unseenRows: 3, judged: true, alarm: false });
    expect(family?.values).toEqual([
      { label: 'copper', rows: 2 },
      { label: 'brass', rows: 1 },
    ]);
  });
});

describe('predictionDrift', () => {
  it('raises nothing for predictions like those at training', () => {
    const night = jobs({ rows: 600, seed: 27 });
    const drift = predictionDrift(profile, night.predicted, thresholds);
    expect(drift).toMatchObject({
      target: 'bend_seconds_per_part',
      statistic: 'psi',
      judged: true,
      alarm: false,
    });
  });

  it('raises the alarm when parts need much longer on the brake', () => {
    const night = jobs({ rows: 600, seed: 27, thicker: 4 });
    const drift = predictionDrift(profile, night.predicted, thresholds);
    expect(drift.value).toBeGreaterThan(0.2);
    expect(drift.alarm).toBe(true);
  });

  it('multiclass: compares the predicted classes', () => {
    const probabilities = (classes: number[]) =>
      classes.flatMap((c) => [0, 1, 2].map((k) => (k === c ? 0.8 : 0.1)));
    const reference = buildReferenceProfile({
      table: new Table([categoricalFromLabels('finish', ['raw', 'painted', 'raw', 'raw'])]),
      spec: buildSpec({
        task: 'multiclass',
        target: 'tolerance_class',
        features: features({ finish: 'categorical' }),
      }),
      predictions: probabilities([0, 1, 2, 0]),
      metrics: { count: 4, logLoss: 0.2, accuracy: 1, macroF1: 1, confusionMatrix: [] },
      classLabels: ['coarse', 'medium', 'fine'],
    });
    const same = predictionDrift(reference, probabilities([0, 1, 2, 0]), { ...thresholds, minSamples: 4 });
    expect(same).toMatchObject({ statistic: 'js', value: 0, rows: 4, judged: true, alarm: false });
    const allFine = predictionDrift(reference, probabilities([2, 2, 2, 2]), { ...thresholds, minSamples: 4 });
    expect(allFine.alarm).toBe(true);
    expect(allFine.buckets.map((bucket) => bucket.label)).toEqual(['coarse', 'medium', 'fine']);
    expect(() => predictionDrift(reference, [0.5, 0.5], thresholds)).toThrow(/rows of 3 classes/);
  });
});
