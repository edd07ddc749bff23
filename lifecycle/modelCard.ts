/**
 * The model card: one self-contained HTML page per version that an approver reads before deciding.
 * What the model predicts and from which data, its metrics against the champion, every gate's
 * checks, the training summary and the lineage. Plain HTML and CSS: it opens anywhere, offline.
 * Charts are inline SVG rendered here on the server (`reports/charts`), each above the table with
 * the same numbers, so the page needs no JavaScript.
 */
import {
  barChart,
  CHART_CSS,
  chartFigure,
  evenSample,
  groupedBarChart,
  histogram,
  scatterChart,
} from '../reports/charts';
import { escapeHtml, htmlTable } from '../reports/html';
import { cardNumber, checksSection } from './gates/gate';
import type { FairnessSlice } from './gates/fairness';
import { gateRegistry, type GateRegistry } from './gates/registry';
import type { GateVerdict } from './gates/verdict';
import type { TrainingSummary } from './train';
import { isShownMetric } from '../ml/metrics';
import { backtestSection, type BacktestReport } from './forecast/card';
import { tuningSection, type TuningCard } from './tuning/card';

export interface ModelCardInput {
  model: string;
  version: number;
  description: string;
  task: string;
  target: string;
  features: { name: string; kind: string }[];
  snapshot: { key: string; sha256: string; rows: number };
  specHash: string;
  codeVersion: string;
  training: TrainingSummary;
  metrics: Record<string, number>;
  champion?: { version: number; comparable: boolean; metrics?: Record<string, number>; reason?: string };
  /**
   * The baseline's metrics on the same test rows, the floor the candidate had to beat.
   * @default undefined (a run from before floors: the card says it was not measured)
   */
  floor?: { kind: string; metrics: Record<string, number> };
  verdicts: GateVerdict[];
  slices: FairnessSlice[];
  onnx: { key: string; sha256: string; bytes: number };
  manifest: { key: string; keyId: string };
  createdAt: string;
  /**
   * The test rows' actual values and predictions, for the predicted-against-actual scatter and the
   * residual histogram (regression only).
   * @default undefined (no such charts)
   */
  testSet?: { y: number[]; prediction: number[] };
  /**
   * The fairness gate's largest allowed error ratio, drawn as a rule over the slices' error ratios.
   * @default undefined (no rule)
   */
  fairnessBound?: number;
  /**
   * A forecast: its rolling-origin backtest (per series, per step, against the baselines).
   * @default undefined (not a forecast)
   */
  backtest?: BacktestReport;
  /**
   * Derived features the features stage built: each definition, and the built table the model was
   * trained and evaluated on (with the manifest's pinned definition hash).
   * @default undefined (no features stage)
   */
  /**
   * The tune stage's search the parameters came from.
   * @default undefined (no tuning)
   */
  tuning?: TuningCard;
  builtFeatures?: {
    derived: { name: string; expression: string }[];
    /** History features: each with its definition in words (`describeHistoryFeature`). */
    history?: { name: string; definition: string }[];
    definitionSha256: string;
    table: { key: string; hash: string; rows: number };
  };
}

/**
 * The "Built features" section: each derived feature's expression and each history feature's
 * definition, with their importance, and the table's hash.
 */
function builtFeaturesSection(card: ModelCardInput): string {
  const built = card.builtFeatures;
  if (!built) return '';
  const importanceOf = new Map(
    card.training.featureImportance.map((feature) => [feature.name, feature.importance]),
  );
  const taken = new Set(card.features.map((feature) => feature.name));
  const importance = (name: string) =>
    taken.has(name) ? number(importanceOf.get(name) ?? 0) : 'not a model input';
  const rows = [
    ...built.derived.map((feature) => [
      `<code>${escapeHtml(feature.name)}</code>`,
      `<code>${escapeHtml(feature.expression)}</code>`,
      importance(feature.name),
    ]),
    ...(built.history ?? []).map((feature) => [
      `<code>${escapeHtml(feature.name)}</code>`,
      `history: ${escapeHtml(feature.definition)}`,
      importance(feature.name),
    ]),
  ];
  const historyNote =
    (built.history?.length ?? 0) > 0
      ? " History features read each entity's rows strictly before the row's time: when served, from the built table's rows and the outcomes that arrived after them."
      : '';
  return `<h2>Built features</h2>
<p>Derived from the snapshot's columns by the features stage, and computed the same way from each request's columns when served (definition SHA-256 <code>${escapeHtml(built.definitionSha256)}</code>, pinned in the signed manifest).${historyNote}</p>
${htmlTable(['feature', 'definition', 'importance'], rows)}
<p>Built table <code>${escapeHtml(built.table.key)}</code>, ${number(built.table.rows)} rows, SHA-256 <code>${escapeHtml(built.table.hash)}</code>.</p>`;
}

/** Points drawn at most in the scatter: enough to see the shape, small enough for the page. */
const SCATTER_POINTS = 2000;

const number = cardNumber;

/** The card's charts, by the section they go in; an empty string where there is nothing to draw. */
async function chartsOf(card: ModelCardInput, metricNames: string[]) {
  const quality: string[] = [];
  const { champion } = card;
  if (champion?.comparable && champion.metrics) {
    const championMetrics = champion.metrics;
    const bars = metricNames
      .filter((name) => Number.isFinite(card.metrics[name]) && Number.isFinite(championMetrics[name]))
      .flatMap((name) => [
        { category: name, group: `this version (v${card.version})`, value: card.metrics[name] ?? Number.NaN },
        {
          category: name,
          group: `production (v${champion.version})`,
          value: championMetrics[name] ?? Number.NaN,
        },
      ]);
    if (bars.length > 0) {
      const svg = await groupedBarChart({
        bars,
        categoryTitle: 'metric',
        valueTitle: 'value',
        independentScales: true,
      });
      quality.push(
        chartFigure(
          'metrics-vs-champion',
          svg,
          `Test metrics of version ${card.version} against the production version ${champion.version}, each on its own scale.`,
        ),
      );
    }
  }
  const test = card.testSet;
  if (test && card.task === 'regression' && test.y.length > 0) {
    const rows = Math.min(test.y.length, test.prediction.length);
    const pairs = Array.from({ length: rows }, (_, index) => ({
      x: test.y[index] ?? Number.NaN,
      y: test.prediction[index] ?? Number.NaN,
    }));
    const sampled = evenSample(pairs, SCATTER_POINTS);
    const scatter = await scatterChart({
      points: sampled,
      xTitle: `actual ${card.target}`,
      yTitle: `predicted ${card.target}`,
      diagonal: true,
    });
    quality.push(
      chartFigure(
        'pred-vs-actual',
        scatter,
        `Predicted against actual ${card.target} on ${sampled.length === rows ? `all ${rows}` : `${sampled.length} of the ${rows}`} test rows; the dashed line is a perfect prediction.`,
      ),
    );
    const residuals = pairs.map((pair) => pair.y - pair.x);
    const residualSvg = await histogram({
      values: residuals,
      valueTitle: `residual (predicted − actual ${card.target})`,
      rule: { value: 0 },
    });
    quality.push(
      chartFigure(
        'residuals',
        residualSvg,
        `Residuals (predicted minus actual) of the ${rows} test rows; right of the red line the model over-predicts.`,
      ),
    );
  }
  const importanceBars = card.training.featureImportance
    .slice(0, 15)
    .map((feature) => ({ label: feature.name, value: feature.importance }));
  const importance =
    importanceBars.length === 0
      ? ''
      : chartFigure(
          'feature-importance',
          await barChart({ bars: importanceBars, labelTitle: 'feature', valueTitle: 'importance' }),
          `Feature importance of the ${importanceBars.length} most important features, as the trainer reports it.`,
        );
  return { quality: quality.join('\n'), importance };
}

/** The "Baseline floor" section: what predicting the training average scores on the same test rows. */
function floorSection(card: ModelCardInput, metricNames: string[]): string {
  const { floor } = card;
  if (!floor)
    return '<h3>Baseline floor</h3>\n<p class="muted">Not measured: this run predates baseline floors.</p>';
  const rows = metricNames.map((name) => [
    escapeHtml(name),
    number(card.metrics[name]),
    number(floor.metrics[name]),
  ]);
  return `<h3>Baseline floor</h3>
<p>The ${escapeHtml(floor.kind)} model (training mean or class frequencies, whatever the inputs) on the same test rows: the floor every candidate must beat.</p>
${htmlTable(['metric', `this version (v${card.version})`, `${escapeHtml(floor.kind)} floor`], rows)}`;
}

/** Each verdict through its gate's card section; a gate no longer registered gets the checks table. */
async function gateSectionsOf(card: ModelCardInput, gates: GateRegistry) {
  const checks = await Promise.all(
    card.verdicts.map(async (verdict) => {
      const section = gates.byName(verdict.gate)?.card?.checks;
      return section ? section(verdict, card) : checksSection(verdict);
    }),
  );
  const own = await Promise.all(gates.gates.map(async (gate) => (await gate.card?.sections?.(card)) ?? ''));
  return { checks: checks.join('\n'), own: own.filter((section) => section !== '').join('\n') };
}

/**
 * Renders the model card as one self-contained HTML page, charts included as inline SVG.
 * @param gates the gates whose card sections show the verdicts (tests pass their own)
 */
export async function renderModelCard(
  card: ModelCardInput,
  gates: GateRegistry = gateRegistry,
): Promise<string> {
  const metricNames = Object.keys(card.metrics).filter(isShownMetric);
  const metricRows = metricNames.map((name) => [
    escapeHtml(name),
    number(card.metrics[name]),
    card.champion?.comparable ? number(card.champion.metrics?.[name]) : '–',
  ]);
  const gateSections = await gateSectionsOf(card, gates);
  const charts = await chartsOf(card, metricNames);
  const importance = card.training.featureImportance
    .slice(0, 15)
    .map((feature) => [escapeHtml(feature.name), number(feature.importance)]);
  const champion = card.champion
    ? card.champion.comparable
      ? `Compared with the production version ${card.champion.version} on the same test rows.`
      : `The production version ${card.champion.version} could not be compared: ${escapeHtml(card.champion.reason ?? '')}`
    : 'No version serves yet: this is the first.';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>${escapeHtml(card.model)} v${card.version}: model card</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#1d2733}
h1{margin-bottom:0}h2{border-bottom:2px solid #dde3ea;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.6em 0;width:100%}th,td{border:1px solid #dde3ea;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f3f6f9}.pass{color:#17703a;font-weight:600}.fail{color:#b3261e;font-weight:700}
code{font-size:90%;word-break:break-all}.muted{color:#5b6b7b}
${CHART_CSS}
</style></head><body>
<h1>${escapeHtml(card.model)} <span class="muted">version ${card.version}</span></h1>
<p>${escapeHtml(card.description)}</p>
<h2>What it predicts</h2>
<p>Task: <b>${escapeHtml(card.task)}</b> of <code>${escapeHtml(card.target)}</code> from ${card.features.length} columns:
${card.features.map((feature) => `<code>${escapeHtml(feature.name)}</code> (${escapeHtml(feature.kind)})`).join(', ')}.</p>
<p>Trained on ${number(card.snapshot.rows)} rows (train ${number(card.training.rows.train)}, validation ${number(card.training.rows.validation)}, test ${number(card.training.rows.test)}) of snapshot <code>${escapeHtml(card.snapshot.sha256)}</code>.</p>
<h2>Quality on the test rows</h2>
<p>${champion}</p>
${charts.quality}
${htmlTable(['metric', `this version (v${card.version})`, card.champion ? `production (v${card.champion.version})` : 'production'], metricRows)}
${floorSection(card, metricNames)}
${card.backtest ? backtestSection(card.backtest) : ''}
<h2>Gates</h2>
${gateSections.checks}
${gateSections.own}
<h2>Training</h2>
<p>${escapeHtml(card.training.trainer)}: ${card.training.iterations} iterations kept of ${card.training.iterationsRun} run${card.training.bestIteration ? `, best at ${card.training.bestIteration}` : ''}; ${number(card.training.seconds)} s.</p>
${charts.importance}
${htmlTable(['feature', 'importance'], importance)}
${card.tuning ? await tuningSection(card.tuning) : ''}
${builtFeaturesSection(card)}
<h2>Lineage</h2>
${htmlTable(
  ['', ''],
  [
    ['spec hash', `<code>${escapeHtml(card.specHash)}</code>`],
    ['snapshot', `<code>${escapeHtml(card.snapshot.key)}</code>`],
    ...(card.builtFeatures
      ? [['built features', `<code>${escapeHtml(card.builtFeatures.table.key)}</code>`]]
      : []),
    ['code version', `<code>${escapeHtml(card.codeVersion)}</code>`],
    [
      'ONNX',
      `<code>${escapeHtml(card.onnx.key)}</code>, ${number(card.onnx.bytes)} bytes, SHA-256 <code>${escapeHtml(card.onnx.sha256)}</code>`,
    ],
    [
      'manifest',
      `<code>${escapeHtml(card.manifest.key)}</code>, signed with Ed25519 key <code>${escapeHtml(card.manifest.keyId)}</code>`,
    ],
    ['created', escapeHtml(card.createdAt)],
  ],
)}
</body></html>
`;
}
