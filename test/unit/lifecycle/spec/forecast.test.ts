import { describe, expect, it } from 'vitest';
import { checkSpecAgainstSource, specHash } from '../../../../lifecycle/spec';
import { seasonLengthOf } from '../../../../lifecycle/spec/forecast';
import { buildSpec, shippedSpecInput, sourceColumns, specInput, specProblems } from '../../../specBuilder';

/** Weekly order lines per material family and customer segment. */
const weekly = sourceColumns({
  week_start: 'date',
  material_family: 'text',
  customer_segment: 'text',
  order_lines: 'integer',
});

const FORECAST = {
  task: 'forecast',
  source: { kind: 'table', table: 'weekly_orders' },
  target: 'order_lines',
  features: [
    { name: 'material_family', kind: 'categorical' },
    { name: 'customer_segment', kind: 'categorical' },
  ],
  timeColumn: 'week_start',
  forecast: { period: 'week', horizon: 8 },
  split: { kind: 'ordered', testFraction: 0.25 },
};

describe('a forecast spec', () => {
  it('fills its defaults: six cut-offs, 80 % intervals, a year of weeks, MASE as the primary metric', () => {
    const spec = buildSpec(FORECAST);
    expect(spec.task).toBe('forecast');
    expect(spec.forecast).toEqual({ period: 'week', horizon: 8, origins: 6, intervalLevel: 0.8 });
    expect(seasonLengthOf(spec.forecast ?? { period: 'day' })).toBe(52);
    expect(seasonLengthOf({ period: 'day' })).toBe(7);
    expect(spec.gates.quality.primaryMetric).toBe('mase');
  });

  it('accepts MASE and sMAPE thresholds, and refuses a classification metric', () => {
    const spec = buildSpec({
      ...FORECAST,
      gates: {
        quality: {
          thresholds: [
            { metric: 'mase', max: 1 },
            { metric: 'smape', max: 0.3 },
          ],
        },
      },
    });
    expect(spec.gates.quality.thresholds.map((threshold) => threshold.metric)).toEqual(['mase', 'smape']);
    expect(
      specProblems(
        specInput({ ...FORECAST, gates: { quality: { thresholds: [{ metric: 'auc', min: 0.8 }] } } }),
      ),
    ).toEqual([
      expect.stringMatching(/^gates\.quality\.thresholds\[0\]\.metric: auc is not a forecast metric/),
    ]);
  });

  it('names each field that does not fit a forecast', () => {
    const problems = specProblems(
      specInput({
        ...FORECAST,
        forecast: undefined,
        timeColumn: undefined,
        features: [
          { name: 'material_family', kind: 'categorical' },
          { name: 'unit_price', kind: 'numeric' },
        ],
        split: { kind: 'random', testFraction: 0.2 },
        derived: [{ name: 'doubled', expression: 'order_lines * 2' }],
        trainer: { kind: 'linear' },
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^forecast: required for task "forecast"/),
        expect.stringMatching(/^timeColumn: required for task "forecast"/),
        expect.stringMatching(/^features\[1\]\.kind: "unit_price": a forecast's features name its series/),
        expect.stringMatching(/^split\.kind: a forecast is tested on the latest periods/),
        expect.stringMatching(/^derived: does not apply to task "forecast"/),
        expect.stringMatching(/^trainer\.kind: a forecast is one gbdt over all series/),
      ]),
    );
  });

  it('refuses a forecast part on another task, a horizon past the season, and a bad period', () => {
    expect(specProblems(specInput({ forecast: { period: 'week', horizon: 8 } }))).toEqual([
      expect.stringMatching(/^forecast: only applies to task "forecast"/),
    ]);
    expect(specProblems(specInput({ ...FORECAST, forecast: { period: 'week', horizon: 60 } }))).toEqual([
      expect.stringMatching(/^forecast\.horizon: must be at most the season \(52 weeks\)/),
    ]);
    expect(
      buildSpec({ ...FORECAST, forecast: { period: 'day', horizon: 30, seasonLength: 364 } }).forecast,
    ).toMatchObject({
      horizon: 30,
    });
    expect(specProblems(specInput({ ...FORECAST, forecast: { period: 'month', horizon: 2 } }))).toEqual([
      'forecast.period: must be "week" or "day"',
    ]);
  });

  it('checks its columns against the source: a numeric target, a time column, the series keys', () => {
    const spec = buildSpec(FORECAST);
    expect(checkSpecAgainstSource(spec, weekly)).toEqual([]);
    const textTarget = sourceColumns({
      week_start: 'date',
      material_family: 'text',
      customer_segment: 'text',
      order_lines: 'text',
    });
    expect(checkSpecAgainstSource(spec, textTarget).map((issue) => issue.message)).toEqual([
      expect.stringMatching(/"order_lines" is .*; a forecast target must be a number column/),
    ]);
  });

  it('the shipped order-forecast spec validates and keeps its hash when parsed again', () => {
    const spec = buildSpec(shippedSpecInput('order-forecast'), {});
    expect(spec.task).toBe('forecast');
    expect(spec.forecast).toMatchObject({ period: 'week', horizon: 8, seasonLength: 52 });
    expect(specHash(buildSpec(spec, {}))).toBe(specHash(spec));
  });
});
