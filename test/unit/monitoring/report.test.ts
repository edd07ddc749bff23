import { describe, expect, it } from 'vitest';
import { formatNumber } from '../../../lifecycle/gates/quality';
import { categoricalFromLabels, Table } from '../../../ml/table';
import {
  buildMonitoringReport,
  CHART_DATA_ID,
  featureDrift,
  type MonitoringChartData,
  type MonitoringReportInput,
  monitoringThresholds,
  monitorWindow,
  performanceDecay,
  predictionDrift,
  renderMonitoringPage,
  renderMonitoringReport,
  unseenCategories,
  type WindowInput,
} from '../../../monitoring';
import { jobs, spec, thresholds, trainedProfile } from './fixtures';

const profile = trainedProfile();

/** One night of the bend-time model: its requests, and the outcomes known for all of them. */
function night(options: Parameters<typeof jobs>[0], labelled = true): WindowInput {
  const served = jobs(options);
  return {
    model: 'bend-time',
    version: 3,
    profile,
    spec,
    from: '2025-03-03T02:00:00.000Z',
    to: '2025-03-04T02:00:00.000Z',
    inputs: served.table,
    predictions: served.predicted,
    ...(labelled
      ? {
          outcomes: {
            y: served.bendSeconds,
            prediction: served.predicted,
            segments: { material_family: served.table.categorical('material_family') },
          },
        }
      : {}),
    targetUnit: 's',
  };
}

describe('monitorWindow', () => {
  it('raises nothing on a night like any other', () => {
    const report = monitorWindow(night({ rows: 600, seed: 31 }));
    expect(report.alarms).toEqual([]);
    expect(report.notes).toEqual([]);
    expect(report).toMatchObject({ stale: false, staleReasons: [] });
    expect(report.window).toEqual({
      from: '2025-03-03T02:00:00.000Z',
      to: '2025-03-04T02:00:00.000Z',
      predictions: 600,
      labelled: 600,
    });
    expect(report.decay).toMatchObject({ judged: true, stale: false });
    expect(report.fairness).toMatchObject({ judged: true, passed: true });
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('new-material scenario: reports titanium by name and the drift, and calls the model stale', () => {
    const report = monitorWindow(night({ rows: 600, seed: 32, titaniumShare: 0.3 }));
    expect(report.stale).toBe(true);
    const unseen = report.unseen.find((feature) => feature.feature === 'material_family');
    const [first, second] = report.staleReasons;
    expect(first).toBe(
      `Unseen categories: material_family has values never seen in training in ${formatNumber((unseen?.rate ?? 0) * 100, 3)} % ` +
        `of 600 rows (alarm at 5 %): titanium (${unseen?.unseenRows} rows)`,
    );
    expect(second).toMatch(
      /^Feature drift: material_family has moved from its training distribution, Jensen-Shannon divergence 0\.\d+ on 600 rows \(alarm at 0\.1\); most changed: \(unseen\), \d+(\.\d+)? % of rows now against 0 % at training$/,
    );
    expect(report.alarms).toEqual(expect.arrayContaining(report.staleReasons));
  });

  it('raises no false alarm on a quiet night, but still names the new material', () => {
    const report = monitorWindow(night({ rows: 40, seed: 33, titaniumShare: 0.3, thicker: 2 }));
    expect(report.alarms).toEqual([]);
    expect(report.stale).toBe(false);
    expect(report.notes[0]).toMatch(
      /^New categories: material_family has values never seen in training in \d+ rows of 40 \(.+ %\): titanium \(\d+ rows?\); only 40 rows, fewer than the 200 needed to judge$/,
    );
    expect(report.notes).toContain(
      'Drift not judged: only 40 predictions in the window, fewer than the 200 needed',
    );
    expect(report.notes).toContain(
      'Performance and fairness not judged: only 40 labelled rows, fewer than the 200 needed to judge',
    );
  });

  it('says when no outcome is known yet', () => {
    const report = monitorWindow(night({ rows: 600, seed: 34 }, false));
    expect(report).toMatchObject({ decay: null, fairness: null, stale: false, alarms: [] });
    expect(report.notes).toEqual([
      'No labelled outcomes in the window: performance decay and fairness were not checked',
    ]);
  });

  it('needs the outcomes of every segment column of the spec', () => {
    const input = night({ rows: 300, seed: 35 });
    const { outcomes } = input;
    if (!outcomes) throw new Error('the night has outcomes');
    expect(() => monitorWindow({ ...input, outcomes: { ...outcomes, segments: {} } })).toThrow(
      /no segment column "material_family"/,
    );
  });
});

describe('buildMonitoringReport', () => {
  const quiet = jobs({ rows: 600, seed: 36 });
  const base: MonitoringReportInput = {
    model: 'bend-time',
    version: 3,
    task: 'regression',
    target: 'bend_seconds_per_part',
    window: { from: 'a', to: 'b', predictions: 600, labelled: 300 },
    thresholds: monitoringThresholds(thresholds),
    featureDrift: featureDrift(profile, quiet.table, thresholds),
    predictionDrift: predictionDrift(profile, quiet.predicted, thresholds),
    unseen: unseenCategories(profile, quiet.table, thresholds),
    decay: null,
    fairness: null,
    targetUnit: 's',
  };

  it('words a decayed metric with its numbers and unit, and calls the model stale', () => {
    const y = Float64Array.from({ length: 300 }, (_, i) => 40 + (i % 9));
    const decay = performanceDecay({
      task: 'regression',
      primaryMetric: 'rmse',
      referenceValue: 10,
      decayTolerance: 0.2,
      minSamples: 200,
      y,
      prediction: y.map((value, i) => value + (i % 2 ? 13 : -13)),
    });
    const report = buildMonitoringReport({ ...base, decay });
    expect(report.staleReasons).toEqual([
      'Performance decay: RMSE 13 s on 300 labelled rows is 30 % worse than 10 s at training (tolerance 20 %)',
    ]);
    expect(report.stale).toBe(true);
  });

  it('names the drifted feature with its PSI and bin', () => {
    const thick = jobs({ rows: 600, seed: 37, thicker: 1.5 });
    const drift = featureDrift(profile, thick.table, thresholds);
    const thickness = drift.find((feature) => feature.feature === 'thickness_mm');
    const report = buildMonitoringReport({ ...base, featureDrift: drift });
    expect(report.alarms[0]).toContain(
      `Feature drift: thickness_mm has moved from its training distribution, PSI ${formatNumber(thickness?.value ?? 0)} on 600 rows (alarm at 0.2); most changed: > `,
    );
    expect(report.stale).toBe(true);
  });

  it('raises prediction drift alone as an alarm, not as staleness', () => {
    const slow = jobs({ rows: 600, seed: 38, thicker: 4 });
    const report = buildMonitoringReport({
      ...base,
      predictionDrift: predictionDrift(profile, slow.predicted, thresholds),
    });
    expect(report.alarms).toHaveLength(1);
    expect(report.alarms[0]).toMatch(
      /^Prediction drift: predicted bend_seconds_per_part has moved from the test-set predictions at training, PSI \d+(\.\d+)? on 600 predictions \(alarm at 0\.2\)/,
    );
    expect(report).toMatchObject({ stale: false, staleReasons: [] });
  });
});

describe('renderMonitoringReport', () => {
  const report = monitorWindow(night({ rows: 600, seed: 32, titaniumShare: 0.3 }));

  it('is one page with the alarms, every measure and the stale verdict', async () => {
    const html = await renderMonitoringReport(report);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('Stale: a retraining run is due.');
    expect(html).toContain('<code>material_family</code>');
    expect(html).toContain('titanium (');
    expect(html).toContain('<section id="charts">');
    expect(html).not.toMatch(/<(link|img|iframe)\b|src=|href=/);
    expect(await renderMonitoringPage(report)).toBe(html);
  });

  it('draws drift, the most drifted distributions and the unseen categories as inline SVG', async () => {
    const html = await renderMonitoringReport(report);
    const charts = [
      ...html.matchAll(/<figure class="chart" data-chart="([a-z-]+)"><svg[^]*?<\/svg><figcaption>/g),
    ].map((match) => match[1]);
    expect(charts).toContain('unseen-categories');
    expect(charts.filter((name) => name?.startsWith('drift-')).length).toBeGreaterThan(0);
    expect(charts.filter((name) => name === 'distribution').length).toBeGreaterThan(0);
    expect(charts.filter((name) => name === 'distribution').length).toBeLessThanOrEqual(3);
    const section = html.slice(html.indexOf('<section id="charts">'));
    expect(section.indexOf('data-chart')).toBeLessThan(section.indexOf('<details>'));
    const unseen = /data-chart="unseen-categories">([^]*?)<\/figure>/.exec(html)?.[1] ?? '';
    expect(unseen).toContain('titanium');
    const drawnFeatures = report.drift.features.filter((drift) => drift.value !== null).length;
    const driftBars = [...html.matchAll(/data-chart="drift-[a-z]+">([^]*?)<\/figure>/g)]
      .map((match) => (match[1] ?? '').split('aria-roledescription="bar"').length - 1)
      .reduce((sum, bars) => sum + bars, 0);
    expect(driftBars).toBe(drawnFeatures);
    expect(html).not.toMatch(/<script(?! type="application\/json")/);
  });

  it('escapes text from the shop, in the page and in the chart data', async () => {
    const hostile = '<img src=x onerror=alert(1)>&"\'';
    const labels = new Array<string>(600).fill(hostile);
    const window = new Table([categoricalFromLabels('material_family', labels)]);
    const page = await renderMonitoringReport({
      ...report,
      model: '<b>bend</b>',
      unseen: unseenCategories(profile, window, thresholds),
      drift: { ...report.drift, features: featureDrift(profile, window, thresholds) },
      alarms: [`Unseen: ${hostile}`],
    });
    expect(page).not.toContain('<img');
    expect(page).not.toContain('<b>bend</b>');
    expect(page).toContain('&#60;b&#62;bend&#60;/b&#62;');
    expect(page).toContain('Unseen: &#60;img src=x onerror=alert(1)&#62;&#38;&#34;&#39;');
    const json = new RegExp(`<script type="application/json" id="${CHART_DATA_ID}">(.*?)</script>`, 's').exec(
      page,
    );
    expect(json?.[1]).not.toContain('<');
    const data = JSON.parse(json?.[1] ?? 'null') as MonitoringChartData;
    expect(data.features.find((feature) => feature.feature === 'material_family')?.buckets).toContainEqual({
      label: '(unseen)',
      reference: 0,
      current: 1,
    });
  });
});
