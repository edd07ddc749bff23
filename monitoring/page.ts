/**
 * The monitoring page: one self-contained HTML page per model and night, in the style of the model
 * card (plain HTML and CSS, opens anywhere, offline). Alarms and notes first, then every measure in
 * tables, then the distributions at training and now.
 *
 * The `#charts` section draws drift per feature against its alarm threshold, the distributions at
 * training and now of the most drifted features and of the predictions, and the unseen categories,
 * as inline SVG rendered on the server (`reports/charts`): no JavaScript needed to read them. Each
 * distribution is also a table, and the page carries the charts' data as JSON in
 * `<script type="application/json" id="monitoring-chart-data">` (`MonitoringChartData`).
 */
import { formatNumber, metricLabel } from '../lifecycle/gates/quality';
import { barChart, CHART_CSS, chartFigure, groupedBarChart } from '../reports/charts';
import { checkRows, escapeHtml, htmlTable, sliceRows } from '../reports/html';
import { binarySliceTable, calibrationSection, classBalanceSection } from './classifierSections';
import { canarySection, shadowSection } from './deploymentSections';
import type { DistributionBucket, DriftMeasure } from './drift';
import { number, share, status } from './pageCells';
import type { MonitoringReport } from './report';
import { isShownMetric } from '../ml/metrics';

/** What the charts of the page will draw: each distribution at training and in the window. */
export interface MonitoringChartData {
  features: {
    feature: string;
    statistic: DriftMeasure['statistic'];
    value: number | null;
    buckets: DistributionBucket[];
  }[];
  prediction: {
    target: string;
    statistic: DriftMeasure['statistic'];
    value: number | null;
    buckets: DistributionBucket[];
  } | null;
}

/** The id of the page's JSON chart data. */
export const CHART_DATA_ID = 'monitoring-chart-data';

/** The chart data of a report. */
export function chartDataOf(report: MonitoringReport): MonitoringChartData {
  const { prediction } = report.drift;
  return {
    features: report.drift.features.map(({ feature, statistic, value, buckets }) => ({
      feature,
      statistic,
      value,
      buckets,
    })),
    prediction: prediction && {
      target: prediction.target,
      statistic: prediction.statistic,
      value: prediction.value,
      buckets: prediction.buckets,
    },
  };
}

/** Text as HTML: every character with a meaning in markup becomes a character reference. */
/** JSON safe inside a `<script>` element: no `</script>`, no comment openers, no line separators. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function list(items: string[], empty: string): string {
  return items.length === 0
    ? `<p class="muted">${escapeHtml(empty)}</p>`
    : `<ul>${items.map((item) => `<li>${escapeHtml(item)}</li>`).join('\n')}</ul>`;
}

function statisticName(statistic: DriftMeasure['statistic']): string {
  return statistic === 'psi' ? 'PSI' : 'Jensen-Shannon';
}

function driftSection(report: MonitoringReport): string {
  const rows = report.drift.features.map((drift) => [
    `<code>${escapeHtml(drift.feature)}</code>`,
    escapeHtml(drift.kind),
    statisticName(drift.statistic),
    number(drift.value),
    number(drift.threshold),
    number(drift.rows),
    status(drift.judged, drift.alarm, drift.reason),
  ]);
  const prediction = report.drift.prediction;
  const predictionRow = prediction
    ? htmlTable(
        ['predicted', 'statistic', 'value', 'alarm at', 'predictions', ''],
        [
          [
            `<code>${escapeHtml(prediction.target)}</code>`,
            statisticName(prediction.statistic),
            number(prediction.value),
            number(prediction.threshold),
            number(prediction.rows),
            status(prediction.judged, prediction.alarm, prediction.reason),
          ],
        ],
      )
    : '<p class="muted">Predictions were not measured.</p>';
  return `<h2>Feature drift</h2>
${htmlTable(['feature', 'kind', 'statistic', 'value', 'alarm at', 'rows', ''], rows)}
<h2>Prediction drift</h2>
${predictionRow}`;
}

function unseenSection(report: MonitoringReport): string {
  const rows = report.unseen.map((unseen) => [
    `<code>${escapeHtml(unseen.feature)}</code>`,
    number(unseen.rows),
    number(unseen.unseenRows),
    share(unseen.rate),
    share(unseen.threshold),
    unseen.values.length === 0
      ? '–'
      : unseen.values.map((value) => `${escapeHtml(value.label)} (${value.rows})`).join(', '),
    status(unseen.judged, unseen.alarm, unseen.reason),
  ]);
  return `<h2>Categories unseen at training</h2>
${htmlTable(['feature', 'rows', 'unseen rows', 'rate', 'alarm at', 'unseen values', ''], rows)}`;
}

function performanceSection(report: MonitoringReport): string {
  const { decay } = report;
  if (!decay) return '<h2>Performance</h2><p class="muted">No labelled outcomes in the window.</p>';
  const summary = htmlTable(
    ['metric', 'at training', 'now', 'worse by', 'tolerance', 'labelled rows', ''],
    [
      [
        escapeHtml(metricLabel(report.task, decay.metric)),
        number(decay.referenceValue),
        number(decay.currentValue),
        share(decay.relativeChange),
        share(decay.tolerance),
        number(decay.rows),
        status(decay.judged, decay.stale, decay.reason),
      ],
    ],
  );
  // Each of the task's metrics beside its value at training; reports from before that show them now only.
  const compared = decay.compared?.map((entry) => [
    escapeHtml(metricLabel(report.task, entry.metric)),
    number(entry.atTraining),
    number(entry.now),
    share(entry.worseBy),
  ]);
  const metrics = Object.entries(decay.metrics)
    .filter((entry): entry is [string, number | null] => entry[1] === null || typeof entry[1] === 'number')
    .filter(([name]) => isShownMetric(name))
    .map(([name, value]) => [escapeHtml(name), number(value)]);
  return `<h2>Performance on labelled outcomes</h2>
${summary}
${compared ? htmlTable(['metric', 'at training', 'now', 'worse by'], compared) : ''}
${htmlTable(['metric', 'now'], metrics)}`;
}

function fairnessSection(report: MonitoringReport): string {
  const { fairness } = report;
  if (!fairness) return '<h2>Fairness</h2><p class="muted">No labelled outcomes in the window.</p>';
  const badge = !fairness.judged
    ? `<span class="muted">not judged: ${escapeHtml(fairness.reason ?? '')}</span>`
    : fairness.passed
      ? '<span class="pass">within the gate&#39;s bounds</span>'
      : '<span class="fail">outside the gate&#39;s bounds</span>';
  const checks = checkRows(fairness.verdict.checks, fairness.judged);
  const slices =
    report.task === 'binary'
      ? binarySliceTable(report)
      : htmlTable(
          ['segment', 'slice', 'labelled rows', 'error', 'error ratio', 'bias', 'judged'],
          sliceRows(fairness.slices, number),
        );
  return `<h2>Fairness on labelled outcomes: ${badge}</h2>
${htmlTable(['', 'check', 'what was found'], checks)}
${slices}`;
}

function distribution(title: string, buckets: DistributionBucket[]): string {
  const rows = buckets.map((bucket) => [
    escapeHtml(bucket.label),
    share(bucket.reference),
    share(bucket.current),
  ]);
  return `<details><summary>${title}</summary>${htmlTable(['bucket', 'at training', 'now'], rows)}</details>`;
}

/** Distributions drawn as charts: the features whose drift is largest against its threshold. */
const DRIFTED_FEATURES_DRAWN = 3;
/** Unseen categories drawn at most, most rows first. */
const UNSEEN_VALUES_DRAWN = 20;

/** Bars of each feature's drift statistic with its alarm threshold: one chart per statistic. */
async function driftFigures(report: MonitoringReport): Promise<string[]> {
  const figures: string[] = [];
  for (const statistic of ['psi', 'js'] as const) {
    const drifts = report.drift.features.filter(
      (drift) => drift.statistic === statistic && drift.value !== null && Number.isFinite(drift.value),
    );
    const first = drifts[0];
    if (!first) continue;
    const svg = await barChart({
      bars: drifts.map((drift) => ({
        label: drift.feature,
        value: drift.value ?? Number.NaN,
        alarm: drift.alarm,
        faded: !drift.judged,
      })),
      labelTitle: 'feature',
      valueTitle: statisticName(statistic),
      rule: { value: first.threshold },
    });
    const kind = statistic === 'psi' ? 'numeric' : 'categorical';
    figures.push(
      chartFigure(
        `drift-${statistic}`,
        svg,
        `${statisticName(statistic)} of each ${kind} feature between training and this window; the red line is the alarm threshold (${formatNumber(first.threshold)}), red bars are alarms, faded bars have too few rows to judge.`,
      ),
    );
  }
  return figures;
}

async function distributionFigure(
  name: string,
  title: string,
  buckets: DistributionBucket[],
): Promise<string> {
  const svg = await groupedBarChart({
    bars: buckets.flatMap((bucket) => [
      { category: bucket.label, group: 'at training', value: bucket.reference },
      { category: bucket.label, group: 'now', value: bucket.current },
    ]),
    categoryTitle: title,
    valueTitle: 'share of rows',
  });
  return chartFigure(
    name,
    svg,
    `Distribution of ${title} at training and in this window, as shares of rows.`,
  );
}

/** The most drifted features' distributions, then the predictions'. */
async function distributionFigures(data: MonitoringChartData, report: MonitoringReport): Promise<string[]> {
  const thresholdOf = new Map(report.drift.features.map((drift) => [drift.feature, drift.threshold]));
  const drifted = data.features
    .filter(
      (feature) => feature.value !== null && Number.isFinite(feature.value) && feature.buckets.length > 0,
    )
    .map((feature) => ({ feature, severity: (feature.value ?? 0) / (thresholdOf.get(feature.feature) ?? 1) }))
    .sort((a, b) => b.severity - a.severity || a.feature.feature.localeCompare(b.feature.feature))
    .slice(0, DRIFTED_FEATURES_DRAWN);
  const figures: string[] = [];
  for (const { feature } of drifted) {
    figures.push(await distributionFigure('distribution', feature.feature, feature.buckets));
  }
  if (data.prediction && data.prediction.buckets.length > 0) {
    figures.push(
      await distributionFigure(
        'prediction-distribution',
        `predicted ${data.prediction.target}`,
        data.prediction.buckets,
      ),
    );
  }
  return figures;
}

/** Rows of the window per category never seen at training, most rows first. */
async function unseenFigure(report: MonitoringReport): Promise<string[]> {
  const values = report.unseen
    .flatMap((unseen) =>
      unseen.values.map((value) => ({
        label: `${unseen.feature} = ${value.label}`,
        value: value.rows,
        alarm: unseen.alarm,
      })),
    )
    .sort((a, b) => b.value - a.value || a.label.localeCompare(b.label));
  if (values.length === 0) return [];
  const drawn = values.slice(0, UNSEEN_VALUES_DRAWN);
  const svg = await barChart({ bars: drawn, labelTitle: 'category', valueTitle: 'rows in this window' });
  const more = values.length - drawn.length;
  return [
    chartFigure(
      'unseen-categories',
      svg,
      `Rows of this window per category never seen at training${more > 0 ? ` (the ${drawn.length} largest; ${more} more in the table above)` : ''}; red bars belong to a feature in alarm.`,
    ),
  ];
}

/** The charts, each distribution as a table too, and the charts' data as JSON. */
async function chartsSection(report: MonitoringReport): Promise<string> {
  const data = chartDataOf(report);
  const figures = [
    ...(await driftFigures(report)),
    ...(await distributionFigures(data, report)),
    ...(await unseenFigure(report)),
  ];
  const tables = [
    ...data.features.map((feature) =>
      distribution(`<code>${escapeHtml(feature.feature)}</code>`, feature.buckets),
    ),
    ...(data.prediction
      ? [
          distribution(
            `predicted <code>${escapeHtml(data.prediction.target)}</code>`,
            data.prediction.buckets,
          ),
        ]
      : []),
  ];
  return `<section id="charts">
<h2>Charts</h2>
${figures.length === 0 ? '<p class="muted">Nothing to draw.</p>' : figures.join('\n')}
<h2>Distributions at training and now</h2>
${tables.join('\n')}
<script type="application/json" id="${CHART_DATA_ID}">${scriptJson(data)}</script>
</section>`;
}

/** Renders a monitoring report as one self-contained HTML page, charts included as inline SVG. */
export async function renderMonitoringReport(report: MonitoringReport): Promise<string> {
  const charts = await chartsSection(report);
  const { window } = report;
  const verdict = report.stale
    ? '<p class="fail">Stale: a retraining run is due.</p>'
    : report.alarms.length > 0
      ? '<p class="fail">Alarms raised; the model is not stale.</p>'
      : '<p class="pass">No alarm.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>${escapeHtml(report.model)} v${report.version}: monitoring to ${escapeHtml(window.to)}</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#1d2733}
h1{margin-bottom:0}h2{border-bottom:2px solid #dde3ea;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.6em 0;width:100%}th,td{border:1px solid #dde3ea;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f3f6f9}.pass{color:#17703a;font-weight:600}.fail{color:#b3261e;font-weight:700}
code{font-size:90%;word-break:break-all}.muted{color:#5b6b7b}summary{cursor:pointer;margin:.3em 0}
${CHART_CSS}
</style></head><body>
<h1>${escapeHtml(report.model)} <span class="muted">version ${report.version}: nightly monitoring</span></h1>
<p>From ${escapeHtml(window.from)} to ${escapeHtml(window.to)}: ${number(window.predictions)} predictions, ${number(window.labelled)} with a labelled outcome.</p>
${verdict}
<h2>Alarms</h2>
${list(report.alarms, 'None.')}
<h2>Notes</h2>
${list(report.notes, 'None.')}
${unseenSection(report)}
${driftSection(report)}
${performanceSection(report)}
${calibrationSection(report)}
${classBalanceSection(report)}
${fairnessSection(report)}
${canarySection(report)}
${shadowSection(report)}
${charts}
</body></html>
`;
}

/** The name the nightly activity imports: the same page as `renderMonitoringReport`. */
export const renderMonitoringPage = renderMonitoringReport;
