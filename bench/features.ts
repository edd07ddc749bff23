/**
 * `npm run bench -- features [case]`: the feature build's building blocks on a million rows, each
 * against its physical limit in the same run. `derived-1m` evaluates two derived-feature
 * expressions through the expression language and the same arithmetic as a hand-written loop (what
 * JavaScript can do at best); `history-1m` computes a 28-day rolling mean per entity (1000 of them,
 * three years of times) and compares it with one typed-array sort of the rows' (entity, time) keys,
 * the least any exact method must do to put a row's past in order.
 */
import { performance } from 'node:perf_hooks';
import type { CategoricalColumn, Column, NumericColumn } from '../ml/table';
import { buildDerivedColumns, checkDerivedFeatures, type ColumnType } from '../lifecycle/features/expression';
import { buildHistoryColumns, type HistoryColumnRequest } from '../lifecycle/features/history';
import { type CaseLine, peakRssMb, round, runCaseWhenStarted } from './caseLine';

const ROWS = 1_000_000;
const ENTITIES = 1000;
const DAY_MS = 86_400_000;
const START_MS = Date.UTC(2023, 0, 1);

export const CASES = {
  'derived-1m': derivedCase,
  'history-1m': historyCase,
} satisfies Record<string, () => CaseLine>;

/** A small, fixed pseudo-random sequence, so every run measures the same rows. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

/** A shop-like table: cut length, laser power, material, customer, release time, minutes. */
function shopColumns(): Map<string, Column> {
  const next = random(14);
  const numeric = (name: string, value: (row: number) => number): NumericColumn => ({
    kind: 'numeric',
    name,
    values: Float64Array.from({ length: ROWS }, (_, row) => value(row)),
  });
  const materials = ['steel', 'stainless', 'aluminium', 'copper'];
  const material: CategoricalColumn = {
    kind: 'categorical',
    name: 'material',
    codes: Int32Array.from({ length: ROWS }, () => Math.floor(next() * materials.length)),
    dictionary: materials,
  };
  const customer: CategoricalColumn = {
    kind: 'categorical',
    name: 'customer',
    codes: Int32Array.from({ length: ROWS }, () => Math.floor(next() * ENTITIES)),
    dictionary: Array.from({ length: ENTITIES }, (_, index) => `c${index}`),
  };
  const columns: Column[] = [
    numeric('cut_length_mm', () => 200 + next() * 20_000),
    numeric('laser_power_kw', () => (next() < 0.01 ? 0 : 2 + next() * 10)),
    numeric('released_at', () => START_MS + Math.floor(next() * 3 * 365 * DAY_MS)),
    numeric('minutes', () => 1 + next() * 60),
    material,
    customer,
  ];
  return new Map(columns.map((column) => [column.name, column]));
}

/** Median of `runs` timings of `work`, ms. */
function medianMs(runs: number, work: () => unknown): number {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    work();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

function derivedCase(): CaseLine {
  const columns = shopColumns();
  const types: Record<string, ColumnType> = {
    cut_length_mm: 'number',
    laser_power_kw: 'number',
    released_at: 'time',
    minutes: 'number',
    material: 'category',
  };
  const expressions = [
    { name: 'cut_per_kw', expression: 'cut_length_mm / max(laser_power_kw, 1)' },
    {
      name: 'weighted',
      expression: 'if(material == "stainless", 1.4, 1) * log1p(cut_length_mm) + clip(minutes, 0, 30)',
    },
  ];
  const { checked, problems } = checkDerivedFeatures(expressions, (name) => {
    const type = types[name];
    return type ? { kind: 'column', type } : { kind: 'unknown', problem: `no column ${name}` };
  });
  if (problems.length > 0) throw new Error(JSON.stringify(problems));
  const language = medianMs(5, () => buildDerivedColumns(checked, columns, ROWS));

  const numbers = (name: string) => (columns.get(name) as NumericColumn).values;
  const cut = numbers('cut_length_mm');
  const power = numbers('laser_power_kw');
  const minutes = numbers('minutes');
  const stainless = (columns.get('material') as CategoricalColumn).dictionary.indexOf('stainless');
  const codes = (columns.get('material') as CategoricalColumn).codes;
  const byHand = medianMs(5, () => {
    const first = new Float64Array(ROWS);
    const second = new Float64Array(ROWS);
    for (let row = 0; row < ROWS; row++) {
      const c = cut[row] as number;
      first[row] = c / Math.max(power[row] as number, 1);
      const m = minutes[row] as number;
      second[row] = (codes[row] === stainless ? 1.4 : 1) * Math.log1p(c) + Math.min(Math.max(m, 0), 30);
    }
    return [first, second];
  });
  return {
    bench: 'features',
    case: 'derived-1m',
    rows: ROWS,
    features: expressions.length,
    language_rows_per_s: Math.round(ROWS / (language / 1000)),
    hand_loop_rows_per_s: Math.round(ROWS / (byHand / 1000)),
    ratio_language_to_hand_loop: round(language / byHand, 2),
    peak_rss_mb: peakRssMb(),
  };
}

function historyCase(): CaseLine {
  const columns = shopColumns();
  const requests: HistoryColumnRequest[] = [
    {
      name: 'minutes_customer_28d',
      of: 'minutes',
      by: ['customer'],
      definition: { kind: 'rolling', stat: 'mean', window: { kind: 'time', ms: 28 * DAY_MS }, gapMs: 0 },
    },
  ];
  const built = medianMs(3, () => buildHistoryColumns(requests, columns, ROWS, 'released_at'));

  const customers = (columns.get('customer') as CategoricalColumn).codes;
  const times = (columns.get('released_at') as NumericColumn).values;
  // The physical limit: one sort of the (entity, time) keys, packed into one float each.
  const sorted = medianMs(3, () => {
    const keys = new Float64Array(ROWS);
    for (let row = 0; row < ROWS; row++) {
      keys[row] = (customers[row] as number) * 2 ** 37 + ((times[row] as number) - START_MS) / 1000;
    }
    return keys.sort();
  });
  return {
    bench: 'features',
    case: 'history-1m',
    rows: ROWS,
    entities: ENTITIES,
    feature: '28-day rolling mean per customer',
    history_rows_per_s: Math.round(ROWS / (built / 1000)),
    one_sort_rows_per_s: Math.round(ROWS / (sorted / 1000)),
    ratio_history_to_one_sort: round(built / sorted, 2),
    peak_rss_mb: peakRssMb(),
  };
}

runCaseWhenStarted('features.ts', (name) => {
  const run = CASES[name as keyof typeof CASES] as (() => CaseLine) | undefined;
  if (!run) throw new Error(`no features case ${name}: ${Object.keys(CASES).join(', ')}`);
  return Promise.resolve(run());
});
