/**
 * Server-side charts for Kerf's HTML pages (model card, nightly monitoring report): each function
 * takes plain data, builds a Vega-Lite spec, compiles it to Vega and renders it headless as an SVG
 * string. The SVG is inline, uses only the generic `sans-serif` font, and carries no script or
 * link, so a page reads the same offline and without JavaScript. Text from the shop (feature names,
 * category labels) only ever enters a spec as data values or literal titles, never as field names
 * or expressions, and Vega escapes it in the SVG it writes.
 */
import { Error as VegaError, logger, parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { escapeHtml } from './html';

/** Width and height of a chart's plotting area, in CSS pixels. */
export interface ChartSize {
  /** @default 560 */
  width?: number;
  /** @default 260 */
  height?: number;
}

/** One bar: a label on the category axis and its length. */
export interface Bar {
  label: string;
  value: number;
  /** Bars of one group share a colour (the segment of a fairness slice). @default none */
  group?: string;
  /** Drawn in the alarm colour. @default false */
  alarm?: boolean;
  /** Drawn faded: shown but not judged (too few rows). @default false */
  faded?: boolean;
}

/** A vertical (on horizontal bars) or horizontal reference line: a threshold or a bound. */
export interface ReferenceRule {
  value: number;
}

export interface BarChartOptions extends ChartSize {
  bars: Bar[];
  /** Title of the category axis. */
  labelTitle: string;
  /** Title of the value axis. */
  valueTitle: string;
  /** A threshold drawn across the bars. @default none */
  rule?: ReferenceRule;
  /** Bars run left to right with labels on the left: readable with many or long labels. @default true */
  horizontal?: boolean;
}

/** One bar of a grouped chart: `group` (`at training`, `now`) within `category` (a bucket). */
export interface GroupedBar {
  category: string;
  group: string;
  value: number;
}

export interface GroupedBarChartOptions extends ChartSize {
  bars: GroupedBar[];
  categoryTitle: string;
  valueTitle: string;
  /**
   * One small chart per category, each with its own value scale: for measures of different units
   * (RMSE in seconds next to R²). Otherwise the groups stand side by side on one shared scale.
   * @default false
   */
  independentScales?: boolean;
}

export interface ScatterChartOptions extends ChartSize {
  points: { x: number; y: number }[];
  xTitle: string;
  yTitle: string;
  /** Draw the line y = x (a perfect prediction). @default false */
  diagonal?: boolean;
}

export interface GroupedScatterOptions extends ChartSize {
  /** Each point in a group drawn in its own colour, with a legend. */
  points: { x: number; y: number; group: string }[];
  xTitle: string;
  yTitle: string;
  groupTitle: string;
  /** The groups in legend order. @default the order they first appear */
  groups?: string[];
  /** Points ringed in red (the chosen one). @default none */
  marked?: { x: number; y: number }[];
}

export interface HistogramOptions extends ChartSize {
  values: number[];
  valueTitle: string;
  /** Number of equal-width bins. @default ceil(sqrt(n)), between 5 and 40 */
  bins?: number;
  /** A reference line (zero residual). @default none */
  rule?: ReferenceRule;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const BLUE = '#4c78a8';
const RED = '#b3261e';
const GREY = '#5b6b7b';
const CONFIG = {
  font: 'sans-serif',
  view: { stroke: null },
  axis: { labelLimit: 220, titleFontWeight: 'normal' as const },
};

/** Vega-Lite and Vega would otherwise warn on the console about empty or infinite extents. */
const quiet = logger(VegaError);

/** Renders a Vega-Lite spec to an SVG string, headless: no canvas, no DOM. */
export async function renderVegaLite(spec: TopLevelSpec): Promise<string> {
  const vegaSpec = compile(spec, { logger: quiet }).spec;
  const view = new View(parse(vegaSpec), { renderer: 'none', logLevel: VegaError });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const finite = (value: number) => Number.isFinite(value);

/** Bars, with an optional threshold rule. Non-finite values are left out. */
export async function barChart(options: BarChartOptions): Promise<string> {
  const { horizontal = true, width = 560 } = options;
  const rows = options.bars
    .filter((bar) => finite(bar.value))
    .map((bar, index) => ({
      order: index,
      label: bar.label,
      value: bar.value,
      group: bar.group ?? '',
      alarm: bar.alarm ?? false,
      faded: bar.faded ?? false,
    }));
  const grouped = options.bars.some((bar) => bar.group !== undefined);
  const category = { field: 'label', type: 'nominal' as const, title: options.labelTitle, sort: null };
  const value = { field: 'value', type: 'quantitative' as const, title: options.valueTitle };
  const bars = {
    data: { values: rows },
    mark: { type: 'bar' as const },
    encoding: {
      ...(horizontal ? { y: category, x: value } : { x: category, y: value }),
      color: grouped
        ? { field: 'group', type: 'nominal' as const, title: null }
        : { condition: { test: 'datum.alarm', value: RED }, value: BLUE },
      opacity: { condition: { test: 'datum.faded', value: 0.35 }, value: 1 },
    },
  };
  const layer: TopLevelSpec[] = [bars];
  if (options.rule && finite(options.rule.value)) {
    layer.push({
      data: { values: [{ value: options.rule.value }] },
      mark: { type: 'rule', color: RED, strokeDash: [6, 4], strokeWidth: 2 },
      encoding: { [horizontal ? 'x' : 'y']: { field: 'value', type: 'quantitative' } },
    });
  }
  const size = horizontal
    ? { width, height: { step: 18 } }
    : { width: { step: 24 }, height: options.height ?? 260 };
  return renderVegaLite({ $schema: SCHEMA, config: CONFIG, ...size, layer } as TopLevelSpec);
}

/** Grouped bars: side by side on one scale, or one small chart per category with its own scale. */
export async function groupedBarChart(options: GroupedBarChartOptions): Promise<string> {
  const { width = 560, height = 220 } = options;
  const values = options.bars
    .filter((bar) => finite(bar.value))
    .map((bar, index) => ({ order: index, category: bar.category, group: bar.group, value: bar.value }));
  const groups = [...new Set(values.map((bar) => bar.group))];
  const color = { field: 'group', type: 'nominal' as const, title: null, sort: groups };
  const value = { field: 'value', type: 'quantitative' as const, title: options.valueTitle };
  if (options.independentScales) {
    const categories = new Set(values.map((bar) => bar.category)).size;
    const columns = Math.min(4, Math.max(1, categories));
    return renderVegaLite({
      $schema: SCHEMA,
      config: CONFIG,
      data: { values },
      columns,
      facet: { field: 'category', type: 'nominal', title: options.categoryTitle, sort: null },
      spec: {
        width: Math.max(80, Math.floor(width / columns) - 40),
        height: Math.min(height, 160),
        mark: 'bar',
        encoding: {
          // The legend names the groups: long version labels would overlap under narrow bars.
          x: { field: 'group', type: 'nominal', title: null, sort: groups, axis: null },
          y: { ...value, title: null },
          color,
        },
      },
      resolve: { scale: { y: 'independent' } },
    });
  }
  return renderVegaLite({
    $schema: SCHEMA,
    config: CONFIG,
    data: { values },
    width: { step: Math.max(16, 12 * groups.length + 8) },
    height,
    mark: 'bar',
    encoding: {
      x: { field: 'category', type: 'nominal', title: options.categoryTitle, sort: null },
      xOffset: { field: 'group', type: 'nominal', sort: groups },
      y: value,
      color,
    },
  });
}

/** Points, with an optional y = x line. Non-finite points are left out; sample before calling. */
export async function scatterChart(options: ScatterChartOptions): Promise<string> {
  const { width = 420, height = 420 } = options;
  const points = options.points.filter((point) => finite(point.x) && finite(point.y));
  const layer: TopLevelSpec[] = [
    {
      data: { values: points },
      mark: { type: 'point', filled: true, size: 14, opacity: 0.5, color: BLUE },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: options.xTitle, scale: { zero: false } },
        y: { field: 'y', type: 'quantitative', title: options.yTitle, scale: { zero: false } },
      },
    },
  ];
  if (options.diagonal && points.length > 0) {
    let low = Infinity;
    let high = -Infinity;
    for (const point of points) {
      low = Math.min(low, point.x, point.y);
      high = Math.max(high, point.x, point.y);
    }
    layer.push({
      data: { values: [{ x: low, y: low, x2: high, y2: high }] },
      mark: { type: 'rule', color: GREY, strokeDash: [6, 4] },
      encoding: {
        x: { field: 'x', type: 'quantitative' },
        y: { field: 'y', type: 'quantitative' },
        x2: { field: 'x2' },
        y2: { field: 'y2' },
      },
    });
  }
  return renderVegaLite({ $schema: SCHEMA, config: CONFIG, width, height, layer } as TopLevelSpec);
}

/** Points coloured by group, with a legend; marked points ringed in red. Non-finite points are left out. */
export async function groupedScatterChart(options: GroupedScatterOptions): Promise<string> {
  const { width = 560, height = 320 } = options;
  const points = options.points.filter((point) => finite(point.x) && finite(point.y));
  const groups = options.groups ?? [...new Set(points.map((point) => point.group))];
  const layer: TopLevelSpec[] = [
    {
      data: { values: points },
      mark: { type: 'point', filled: true, size: 36, opacity: 0.75 },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: options.xTitle, scale: { zero: false } },
        y: { field: 'y', type: 'quantitative', title: options.yTitle, scale: { zero: false } },
        color: { field: 'group', type: 'nominal', title: options.groupTitle, scale: { domain: groups } },
      },
    },
  ];
  const marked = (options.marked ?? []).filter((point) => finite(point.x) && finite(point.y));
  if (marked.length > 0) {
    layer.push({
      data: { values: marked },
      mark: { type: 'point', filled: false, size: 220, strokeWidth: 2, color: RED },
      encoding: {
        x: { field: 'x', type: 'quantitative' },
        y: { field: 'y', type: 'quantitative' },
      },
    });
  }
  return renderVegaLite({ $schema: SCHEMA, config: CONFIG, width, height, layer } as TopLevelSpec);
}

/** Equal-width bins of the finite values: every bin is one bar, empty bins included. */
export function binValues(values: number[], bins?: number): { start: number; end: number; count: number }[] {
  const data = values.filter(finite);
  if (data.length === 0) return [];
  let low = Infinity;
  let high = -Infinity;
  for (const value of data) {
    low = Math.min(low, value);
    high = Math.max(high, value);
  }
  const count = Math.max(1, Math.round(bins ?? Math.min(40, Math.max(5, Math.ceil(Math.sqrt(data.length))))));
  // All values equal: one bin of width one around them, so the bar has a width to draw.
  const width = high > low ? (high - low) / count : 1;
  const start = high > low ? low : low - 0.5;
  const out = Array.from({ length: high > low ? count : 1 }, (_, index) => ({
    start: start + index * width,
    end: start + (index + 1) * width,
    count: 0,
  }));
  for (const value of data) {
    const index = Math.min(out.length - 1, Math.floor((value - start) / width));
    const bin = out[index];
    if (bin) bin.count += 1;
  }
  return out;
}

/** A histogram: one bar per equal-width bin, with an optional reference line. */
export async function histogram(options: HistogramOptions): Promise<string> {
  const { width = 560, height = 240 } = options;
  const layer: TopLevelSpec[] = [
    {
      data: { values: binValues(options.values, options.bins) },
      mark: { type: 'bar', color: BLUE, binSpacing: 1 },
      encoding: {
        // Pre-binned: `bin: 'binned'` makes each row a bar from its start to its end, up from zero.
        x: { field: 'start', type: 'quantitative', bin: 'binned', title: options.valueTitle },
        x2: { field: 'end' },
        y: { field: 'count', type: 'quantitative', title: 'rows' },
      },
    },
  ];
  if (options.rule && finite(options.rule.value)) {
    layer.push({
      data: { values: [{ value: options.rule.value }] },
      mark: { type: 'rule', color: RED, strokeDash: [6, 4], strokeWidth: 2 },
      encoding: { x: { field: 'value', type: 'quantitative' } },
    });
  }
  return renderVegaLite({ $schema: SCHEMA, config: CONFIG, width, height, layer } as TopLevelSpec);
}

/** At most `limit` items, evenly spread over the whole list: the same sample on every run. */
export function evenSample<T>(items: readonly T[], limit: number): T[] {
  if (items.length <= limit) return [...items];
  const step = items.length / limit;
  return Array.from({ length: limit }, (_, index) => items[Math.floor(index * step)] as T);
}

/** CSS for `chartFigure`: charts shrink to the page's width. */
export const CHART_CSS =
  'figure.chart{margin:1em 0}figure.chart svg{max-width:100%;height:auto;display:block}' +
  'figure.chart figcaption{color:#5b6b7b;font-size:90%;margin-top:.3em}';

/**
 * A chart as an HTML figure: `<figure class="chart" data-chart="name">`, the inline SVG, and the
 * caption (plain text, escaped here).
 */
export function chartFigure(name: string, svg: string, caption: string): string {
  return `<figure class="chart" data-chart="${escapeHtml(name)}">${svg}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}
