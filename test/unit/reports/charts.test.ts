import { describe, expect, it } from 'vitest';
import { type ModelCardInput, renderModelCard } from '../../../lifecycle/modelCard';
import {
  barChart,
  binValues,
  chartFigure,
  evenSample,
  groupedBarChart,
  histogram,
  scatterChart,
} from '../../../reports/charts';

/** Marks Vega labels for screen readers: `aria-roledescription="bar"`, `"point"`, `"rule mark"`. */
function marks(svg: string, role: string): number {
  return svg.split(`aria-roledescription="${role}"`).length - 1;
}

function expectSvg(svg: string): void {
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  expect(svg).not.toMatch(/<script|<foreignObject|<image|@import|url\(http/i);
}

describe('barChart', () => {
  it('draws one bar per finite value and the threshold as a rule', async () => {
    const svg = await barChart({
      bars: [
        { label: 'thickness_mm', value: 0.31, alarm: true },
        { label: 'bend_count', value: 0.02 },
        { label: 'no_value', value: Number.NaN },
      ],
      labelTitle: 'feature',
      valueTitle: 'PSI',
      rule: { value: 0.25 },
    });
    expectSvg(svg);
    expect(marks(svg, 'bar')).toBe(2);
    expect(marks(svg, 'rule mark')).toBe(1);
    expect(svg).toContain('thickness_mm');
    expect(svg).toContain('#b3261e');
  });

  it('escapes text from the shop', async () => {
    const svg = await barChart({
      bars: [{ label: '<script>alert(1)</script>&"', value: 1, group: '<b>seg</b>' }],
      labelTitle: 'slice',
      valueTitle: 'error ratio',
    });
    expectSvg(svg);
    expect(svg).not.toContain('<script>');
    expect(svg).not.toContain('<b>');
    expect(svg).toContain('&lt;script&gt;');
    expect(marks(svg, 'bar')).toBe(1);
  });
});

describe('groupedBarChart', () => {
  const bars = ['[0, 2)', '[2, 4)', '[4, 6)'].flatMap((bucket, index) => [
    { category: bucket, group: 'at training', value: 0.2 + index / 10 },
    { category: bucket, group: 'now', value: 0.4 - index / 10 },
  ]);

  it('stands the groups side by side on one scale', async () => {
    const svg = await groupedBarChart({ bars, categoryTitle: 'bucket', valueTitle: 'share of rows' });
    expectSvg(svg);
    expect(marks(svg, 'bar')).toBe(6);
    expect(svg).toContain('at training');
  });

  it('draws one small chart per category with its own scale', async () => {
    const svg = await groupedBarChart({
      bars: [
        { category: 'rmse', group: 'v2', value: 12 },
        { category: 'rmse', group: 'v1', value: 14 },
        { category: 'r2', group: 'v2', value: 0.91 },
        { category: 'r2', group: 'v1', value: 0.88 },
      ],
      categoryTitle: 'metric',
      valueTitle: 'value',
      independentScales: true,
    });
    expectSvg(svg);
    expect(marks(svg, 'bar')).toBe(4);
  });
});

describe('scatterChart', () => {
  it('draws every finite point and the diagonal', async () => {
    const points = Array.from({ length: 50 }, (_, index) => ({ x: index, y: index * 1.1 }));
    const svg = await scatterChart({
      points: [...points, { x: Number.POSITIVE_INFINITY, y: 1 }],
      xTitle: 'actual',
      yTitle: 'predicted',
      diagonal: true,
    });
    expectSvg(svg);
    expect(marks(svg, 'point')).toBe(50);
    expect(marks(svg, 'rule mark')).toBe(1);
  });
});

describe('histogram', () => {
  it('draws one bar per bin, empty bins included, and a reference rule', async () => {
    const values = [-3, -1, 0, 0.5, 1, 2, 9];
    const svg = await histogram({ values, valueTitle: 'residual', bins: 6, rule: { value: 0 } });
    expectSvg(svg);
    expect(marks(svg, 'bar')).toBe(6);
    expect(marks(svg, 'rule mark')).toBe(1);
  });

  it('bins every finite value once', () => {
    const bins = binValues([1, 2, 3, 4, Number.NaN, 5], 2);
    expect(bins.map((bin) => bin.count)).toEqual([2, 3]);
    expect(binValues([7, 7, 7])).toEqual([{ start: 6.5, end: 7.5, count: 3 }]);
    expect(binValues([])).toEqual([]);
  });
});

describe('evenSample and chartFigure', () => {
  it('samples the same items on every run, spread over the list', () => {
    const items = Array.from({ length: 10_000 }, (_, index) => index);
    const sample = evenSample(items, 2000);
    expect(sample).toHaveLength(2000);
    expect(sample[0]).toBe(0);
    expect(sample[1]).toBe(5);
    expect(evenSample(items, 2000)).toEqual(sample);
    expect(evenSample([1, 2], 2000)).toEqual([1, 2]);
  });

  it('wraps the svg in a figure with an escaped caption', () => {
    const html = chartFigure('drift', '<svg></svg>', 'PSI of <script>x</script>');
    expect(html).toBe(
      '<figure class="chart" data-chart="drift"><svg></svg><figcaption>PSI of &#60;script&#62;x&#60;/script&#62;</figcaption></figure>',
    );
  });
});

function cardInput(overrides: Partial<ModelCardInput> = {}): ModelCardInput {
  const rows = 3000;
  const y = Array.from({ length: rows }, (_, index) => 20 + (index % 97));
  const prediction = y.map((actual, index) => actual + ((index * 7919) % 11) - 5);
  const slice = (segment: string, name: string, errorRatio: number, judged = true) => ({
    segment,
    slice: name,
    missing: false,
    share: 0.25,
    rows: judged ? 400 : 12,
    rmse: 3 * errorRatio,
    bias: 0.1,
    errorRatio,
    judged,
  });
  return {
    model: 'cut-time',
    version: 3,
    description: 'Laser cut time per part.',
    task: 'regression',
    target: 'cut_seconds',
    features: [
      { name: 'thickness_mm', kind: 'number' },
      { name: 'material_family', kind: 'category' },
    ],
    snapshot: { key: 'snapshots/a.parquet', sha256: 'a'.repeat(64), rows: 20_000 },
    specHash: 'b'.repeat(64),
    codeVersion: 'test',
    training: {
      trainer: 'gbdt',
      loss: 'squared_error',
      rows: { train: 14_000, validation: 3000, test: rows },
      rowsWithoutTarget: 0,
      iterations: 120,
      iterationsRun: 140,
      featureImportance: [
        { name: 'thickness_mm', importance: 80 },
        { name: 'material_family', importance: 20 },
      ],
      seconds: 4.2,
    },
    metrics: { rmse: 3.2, mae: 2.5, r2: 0.93, count: rows },
    champion: { version: 2, comparable: true, metrics: { rmse: 3.6, mae: 2.8, r2: 0.91, count: rows } },
    verdicts: [{ gate: 'quality', passed: true, checks: [] }],
    slices: [
      slice('material_family', 'steel', 0.9),
      slice('material_family', 'titanium', 1.7),
      slice('machine', 'laser-2', 1.1),
      slice('machine', 'laser-9', 2.4, false),
    ],
    onnx: { key: 'models/cut-time/3.onnx', sha256: 'c'.repeat(64), bytes: 2048 },
    manifest: { key: 'models/cut-time/3.manifest.json', keyId: 'k1' },
    createdAt: '2026-11-26T05:00:00.000Z',
    testSet: { y, prediction },
    fairnessBound: 1.5,
    ...overrides,
  };
}

/** The inline SVG of each `<figure class="chart">`, by its `data-chart` name. */
function figures(html: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of html.matchAll(
    /<figure class="chart" data-chart="([a-z-]+)">(<svg[^]*?<\/svg>)<figcaption>/g,
  )) {
    found.set(match[1] ?? '', match[2] ?? '');
  }
  return found;
}

describe('renderModelCard charts', () => {
  it('draws the five charts above the tables, with a sampled scatter', async () => {
    const html = await renderModelCard(cardInput());
    const charts = figures(html);
    expect([...charts.keys()]).toEqual([
      'metrics-vs-champion',
      'pred-vs-actual',
      'residuals',
      'slice-error-ratio',
      'feature-importance',
    ]);
    expect(html.match(/data-chart=/g)).toHaveLength(5);
    expect(marks(charts.get('pred-vs-actual') ?? '', 'point')).toBe(2000);
    expect(html).toContain('2000 of the 3000 test rows');
    expect(marks(charts.get('metrics-vs-champion') ?? '', 'bar')).toBe(6);
    expect(marks(charts.get('slice-error-ratio') ?? '', 'bar')).toBe(4);
    expect(marks(charts.get('slice-error-ratio') ?? '', 'rule mark')).toBe(1);
    expect(marks(charts.get('feature-importance') ?? '', 'bar')).toBe(2);
    expect(marks(charts.get('residuals') ?? '', 'bar')).toBeGreaterThan(4);
    expect(html.indexOf('data-chart="slice-error-ratio"')).toBeLessThan(html.indexOf('<th>segment</th>'));
    expect(html).not.toMatch(/<script|<link|<img|src=|href=/);
    expect(await renderModelCard(cardInput())).toBe(html);
  });

  it('leaves out what it cannot draw: no test set, no comparable champion, no slices', async () => {
    const html = await renderModelCard(
      cardInput({
        testSet: undefined,
        champion: { version: 2, comparable: false, reason: 'other test rows' },
        slices: [],
      }),
    );
    expect([...figures(html).keys()]).toEqual(['feature-importance']);
    const binary = await renderModelCard(cardInput({ task: 'binary' }));
    expect(figures(binary).has('pred-vs-actual')).toBe(false);
  });

  it('escapes text from the shop in charts and captions', async () => {
    const hostile = '<script>alert(1)</script>';
    const input = cardInput({ target: hostile });
    input.slices = input.slices.map((slice) => ({ ...slice, segment: hostile, slice: `<img src=x>` }));
    input.training.featureImportance = [{ name: hostile, importance: 1 }];
    const html = await renderModelCard(input);
    expect(figures(html).size).toBe(5);
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
  });
});
