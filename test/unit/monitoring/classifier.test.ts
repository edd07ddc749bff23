/**
 * The nightly check of a failure classifier: milling operations of three product types, scored by a
 * model that knows each operation's true failure probability (so it is calibrated by construction),
 * on nights like training and on nights when type L starts failing where the model sees no risk.
 */
import { describe, expect, it } from 'vitest';
import { binaryMetrics, multiclassMetrics } from '../../../ml/metrics';
import { Random } from '../../../ml/random';
import { categoricalFromLabels, numericFromValues, Table } from '../../../ml/table';
import {
  buildReferenceProfile,
  monitorWindow,
  type ReferenceProfile,
  renderMonitoringReport,
  sliceAtFault,
  type WindowInput,
} from '../../../monitoring';
import { buildSpec, features } from '../../specBuilder';
import { gaussian } from './fixtures';

const TYPES = ['L', 'M', 'H'] as const;

interface Operations {
  table: Table;
  type: string[];
  /** 1 = the operation ended in a machine failure. */
  failed: Float64Array;
  /** What the model gives for a failure: the true probability. */
  predicted: Float64Array;
}

/**
 * Operations with a torque; the chance of failure rises with it, the same for every type. With
 * `typeLShift`, that share of type L operations fails on top, whatever its torque.
 */
function operations(rows: number, seed: number, typeLShift = 0): Operations {
  const random = new Random(seed);
  const type: string[] = [];
  const torque: number[] = [];
  const failed: number[] = [];
  const predicted: number[] = [];
  for (let i = 0; i < rows; i++) {
    const kind = TYPES[random.below(3)] as string;
    const z = gaussian(random);
    const p = 1 / (1 + Math.exp(-(-2.5 + 2.5 * z)));
    type.push(kind);
    torque.push(40 + 10 * z);
    predicted.push(p);
    failed.push(random.next() < p || (kind === 'L' && random.next() < typeLShift) ? 1 : 0);
  }
  return {
    table: new Table([
      categoricalFromLabels('Type', type),
      numericFromValues('Torque [Nm]', torque),
      numericFromValues('Machine failure', failed),
    ]),
    type,
    failed: Float64Array.from(failed),
    predicted: Float64Array.from(predicted),
  };
}

const spec = buildSpec({
  name: 'milling-failure',
  description: 'Whether a milling operation ends in a machine failure',
  task: 'binary',
  target: 'Machine failure',
  features: features({ Type: 'categorical', 'Torque [Nm]': 'numeric' }),
  segments: ['Type'],
  // About 150 failures per type in a night of 3000: true-positive rates vary by a few points.
  gates: { fairness: { maxEqualOpportunityDifference: 0.2 } },
});

function profileOf(): ReferenceProfile {
  const training = operations(6000, 1);
  const test = operations(2000, 2);
  return buildReferenceProfile({
    table: training.table,
    spec,
    predictions: test.predicted,
    metrics: binaryMetrics(test.failed, test.predicted),
    classLabels: ['0', '1'],
    testTargets: test.failed,
  });
}

const profile = profileOf();

function night(
  served: Operations,
  options: { profile?: ReferenceProfile; unknown?: number } = {},
): WindowInput {
  return {
    model: 'milling-failure',
    version: 2,
    profile: options.profile ?? profile,
    spec,
    from: '2025-03-03T02:00:00.000Z',
    to: '2025-03-04T02:00:00.000Z',
    inputs: served.table,
    predictions: served.predicted,
    outcomes: {
      y: served.failed,
      prediction: served.predicted,
      segments: { Type: served.type },
      ...(options.unknown ? { unknownLabels: [{ label: 'overheat', rows: options.unknown }] } : {}),
    },
  };
}

describe('buildReferenceProfile of a classifier', () => {
  it('keeps the class labels, the classes at training and in the test rows, and the test ECE', () => {
    expect(profile.classes?.labels).toEqual(['0', '1']);
    expect(profile.classes?.training?.reduce((sum, count) => sum + count, 0)).toBe(6000);
    expect(profile.classes?.test?.reduce((sum, count) => sum + count, 0)).toBe(2000);
    expect(profile.calibration).toMatchObject({ statistic: 'ece', rows: 2000, bins: 10 });
    expect(profile.calibration?.value).toBeLessThan(0.03);
  });
});

describe('monitorWindow for a binary classifier', () => {
  it('raises nothing on a night like training, and judges every measure', () => {
    const report = monitorWindow(night(operations(3000, 3)));
    expect(report.alarms).toEqual([]);
    expect(report.notes).toEqual([]);
    expect(report.decay).toMatchObject({ metric: 'auc', judged: true, stale: false });
    expect(report.decay?.compared?.map((entry) => entry.metric)).toEqual([
      'auc',
      'logLoss',
      'accuracy',
      'f1',
    ]);
    expect(report.calibration).toMatchObject({ judged: true, alarm: false });
    expect(report.classPrior).toMatchObject({ judged: true, alarm: false, reference: 'test' });
    expect(report.fairness).toMatchObject({ judged: true, passed: true });
    expect(report.unknownOutcomes).toBeNull();
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('names type L when its failures are no longer caught, and calls the model stale', () => {
    const report = monitorWindow(night(operations(3000, 4, 0.3)));
    const bias = report.staleReasons.filter((reason) => reason.startsWith('Fairness'));
    expect(bias).toHaveLength(1);
    expect(bias[0]).toMatch(
      /^Fairness on 3000 labelled rows: Type=L: equal opportunity difference 0\.\d+ > 0\.2; Type: actual positives caught range from [\d.]+ % in L to [\d.]+ % in [MH], /,
    );
    expect(report.stale).toBe(true);
    // More failures than at training: the class balance moved too.
    expect(report.alarms).toContainEqual(
      expect.stringMatching(
        /^Class balance: Machine failure = 1 is [\d.]+ % of 3000 labelled outcomes against [\d.]+ % of the test rows at training \(chi-square [\d.]+ on 1 degree of freedom, p < 0\.0001; alarm below p = 0\.001\)$/,
      ),
    );
  });

  it('reports labels the model does not know: a note below the rate, an alarm at it', () => {
    const few = monitorWindow(night(operations(3000, 3), { unknown: 20 }));
    expect(few.alarms).toEqual([]);
    expect(few.notes).toEqual([
      'Unknown outcomes: 20 labelled outcomes of 3020 carry a label the model does not know, left out of every measure: "overheat" (20 rows); below the 5 % alarm',
    ]);
    const many = monitorWindow(night(operations(3000, 3), { unknown: 400 }));
    expect(many.alarms).toEqual([
      'Unknown outcomes: 11.8 % of 3400 labelled outcomes carry a label the model does not know (alarm at 5 %): "overheat" (400 rows)',
    ]);
    expect(many.stale).toBe(false);
  });

  it('reads a profile stored before class balances and calibration, judging what it can', () => {
    // As stored before: the same JSON without the two fields.
    const older = JSON.parse(
      JSON.stringify({ ...profile, classes: undefined, calibration: undefined }),
    ) as ReferenceProfile;
    const report = monitorWindow(night(operations(3000, 3), { profile: older }));
    expect(report.classPrior).toBeNull();
    expect(report.calibration).toMatchObject({ judged: false, referenceValue: null });
    expect(report.notes).toEqual([
      'Calibration not judged: the reference profile predates calibration; the next version trained keeps it',
    ]);
    expect(report.alarms).toEqual([]);
  });

  it('says when too few outcomes are labelled to judge any of it', () => {
    const report = monitorWindow(night(operations(120, 5, 0.5)));
    expect(report.alarms).toEqual([]);
    expect(report.notes).toContain(
      'Performance, calibration, class balance and fairness not judged: only 120 labelled rows, fewer than the 200 needed to judge',
    );
  });
});

describe('sliceAtFault', () => {
  it('names the slice served worst for a failed binary check, nothing for other checks', () => {
    const report = monitorWindow(night(operations(3000, 4, 0.3)));
    const fairness = report.fairness;
    if (!fairness) throw new Error('the night has outcomes');
    const failed = fairness.failed.find((check) => check.name === 'equal-opportunity:Type');
    if (!failed) throw new Error('equal opportunity fails');
    expect(sliceAtFault(fairness, failed)).toEqual({
      segment: 'Type',
      slice: 'L',
      measure: 'equal opportunity difference',
      value: failed.value,
      bound: 0.2,
    });
    expect(sliceAtFault(fairness, { ...failed, name: 'error-ratio:Type=L' })).toBeUndefined();
  });
});

describe('the monitoring page of a classifier', () => {
  it('shows the metrics at training and now, calibration, class balance and the rates per slice', async () => {
    const html = await renderMonitoringReport(monitorWindow(night(operations(3000, 4, 0.3))));
    expect(html).toContain('<th>at training</th><th>now</th><th>worse by</th>');
    expect(html).toContain('<td>AUC</td>');
    expect(html).toContain('<h2>Calibration on labelled outcomes</h2>');
    expect(html).toContain('<th>probability of class 1</th>');
    expect(html).toContain('<h2>Class balance of labelled outcomes</h2>');
    expect(html).toContain('<th>actual positives caught</th>');
    expect(html).toContain('Type=L: equal opportunity difference');
  });
});

describe('monitorWindow for a multiclass classifier', () => {
  const labels = ['coarse', 'medium', 'fine'];
  const multiclassSpec = buildSpec({
    name: 'tolerance-class',
    description: 'The tolerance class a bent part ends up in',
    task: 'multiclass',
    target: 'tolerance_class',
    features: features({ Type: 'categorical' }),
  });

  /** Parts whose most probable class (0.6) is right 60 % of the time: calibrated. */
  function parts(rows: number, seed: number) {
    const random = new Random(seed);
    const type: string[] = [];
    const y = new Float64Array(rows);
    const prediction = new Float64Array(rows * 3);
    for (let i = 0; i < rows; i++) {
      const top = random.below(3);
      for (let c = 0; c < 3; c++) prediction[i * 3 + c] = c === top ? 0.6 : 0.2;
      y[i] = random.next() < 0.6 ? top : (top + 1 + random.below(2)) % 3;
      type.push(TYPES[random.below(3)] as string);
    }
    return { table: new Table([categoricalFromLabels('Type', type)]), y, prediction };
  }

  it('takes rows x classes probabilities: drift per part, top-label calibration, three class shares', () => {
    const test = parts(1500, 8);
    const trained = buildReferenceProfile({
      table: parts(3000, 9).table,
      spec: multiclassSpec,
      predictions: test.prediction,
      metrics: multiclassMetrics(test.y, test.prediction, 3),
      classLabels: labels,
      testTargets: test.y,
    });
    expect(trained.classes?.test?.reduce((sum, count) => sum + count, 0)).toBe(1500);
    const served = parts(600, 10);
    const report = monitorWindow({
      model: 'tolerance-class',
      version: 1,
      profile: trained,
      spec: multiclassSpec,
      from: 'a',
      to: 'b',
      inputs: served.table,
      predictions: served.prediction,
      outcomes: { y: served.y, prediction: served.prediction, segments: {} },
    });
    expect(report.drift.prediction).toMatchObject({ rows: 600, statistic: 'js', judged: true, alarm: false });
    expect(report.calibration).toMatchObject({ rows: 600, judged: true, alarm: false });
    expect(report.classPrior).toMatchObject({ degreesOfFreedom: 2, judged: true, alarm: false });
    expect(report.decay?.compared?.map((entry) => entry.metric)).toEqual(['logLoss', 'accuracy', 'f1']);
    expect(report.alarms).toEqual([]);
  });
});
