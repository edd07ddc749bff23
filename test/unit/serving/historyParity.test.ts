import { describe, expect, it } from 'vitest';
import { featureBuildHash, type FeatureBuildHistory } from '../../../lifecycle/features/build';
import { EntityHistory } from '../../../lifecycle/features/history';
import { buildFeatureTable } from '../../../lifecycle/features/table';
import { loadSnapshot } from '../../../lifecycle/ingest';
import { encodeSnapshot, type FieldDescription } from '../../../lifecycle/ingest/arrow';
import { sha256Hex } from '../../../lifecycle/manifest';
import { historyColumnRequests } from '../../../lifecycle/spec';
import { splitLabelledRows } from '../../../lifecycle/split';
import type { Feature } from '../../../ml/model';
import { categoricalFromLabels, type Column, numericFromValues, Table } from '../../../ml/table';
import { ServedHistory } from '../../../serving/entityHistory';
import { scoringTable, servingFeatureBuild } from '../../../serving/featureBuild';
import type { RawRow } from '../../../serving/payload';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = Date.UTC(2024, 0, 1);

/**
 * Jobs of 12 customers on 4 machines (an integer key), released at times with ties, some targets
 * and quantities missing: what a shop's snapshot holds for history features to read.
 */
function jobs(rows: number): { columns: Column[]; fields: FieldDescription[] } {
  // A fixed pseudo-random walk: irregular gaps, and every fourth job released with the one before.
  let seed = 7;
  const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
  const time: number[] = [];
  for (let i = 0, t = START; i < rows; i++) {
    if (i % 4 !== 3) t += Math.floor(next() * 20) * HOUR;
    time.push(t);
  }
  const customer = Array.from({ length: rows }, () => Math.floor(next() * 12));
  const columns: Column[] = [
    numericFromValues(
      'cut_seconds',
      Array.from({ length: rows }, (_, i) => (i % 17 === 4 ? null : 10 + ((i * 7919) % 97) / 3)),
    ),
    numericFromValues(
      'quantity',
      Array.from({ length: rows }, (_, i) => (i % 11 === 3 ? null : 1 + ((i * 104729) % 50))),
    ),
    categoricalFromLabels(
      'customer_id',
      Array.from({ length: rows }, (_, i) => (i % 29 === 7 ? null : `C${customer[i] ?? 0}`)),
    ),
    numericFromValues(
      'machine',
      Array.from({ length: rows }, (_, i) => 101 + ((i * 13) % 4)),
    ),
    numericFromValues('released_at', time),
  ];
  const fields: FieldDescription[] = [
    { name: 'cut_seconds', role: 'target', kind: 'numeric', pgType: 'double precision' },
    { name: 'quantity', role: 'feature', kind: 'numeric', pgType: 'integer' },
    { name: 'customer_id', role: 'feature', kind: 'categorical', pgType: 'text' },
    { name: 'machine', role: 'feature', kind: 'numeric', pgType: 'integer' },
    { name: 'released_at', role: 'time', kind: 'timestamp', pgType: 'timestamp with time zone' },
  ];
  return { columns, fields };
}

/** The spec's history list, as checked specs give it to the features stage. */
const HISTORY = historyColumnRequests({
  target: 'cut_seconds',
  history: [
    { name: 'last_cut', of: 'target', by: ['customer_id'], lag: 1 },
    { name: 'cut_before_last', of: 'target', by: ['customer_id'], lag: 2 },
    { name: 'mean_cut_7d', of: 'target', by: ['customer_id'], stat: 'mean', window: '7d' },
    { name: 'jobs_machine_3d', of: 'target', by: ['machine'], stat: 'count', window: '3d' },
    { name: 'qty_last_5', of: 'quantity', by: ['customer_id', 'machine'], stat: 'sum', events: 5 },
    { name: 'max_cut_14d_gap', of: 'target', by: ['machine'], stat: 'max', window: '14d', gap: '2d' },
    { name: 'min_cut_10', of: 'target', by: ['customer_id'], stat: 'min', events: 10 },
    { name: 'days_since', by: ['customer_id'], since: 'days' },
  ],
});
const BUILD: FeatureBuildHistory = { timeColumn: 'released_at', target: 'cut_seconds', features: HISTORY };

async function stored(table: Table, fields: FieldDescription[]) {
  const bytes = encodeSnapshot(table, fields, 'released_at');
  return loadSnapshot({ get: () => Promise.resolve(bytes) }, `features/parity/${sha256Hex(bytes)}.arrow`);
}

/** A table row as a client sends it: numbers as numbers, categories as text, missing as null. */
function requestRow(table: Table, names: readonly string[], row: number): RawRow {
  const out: RawRow = {};
  for (const name of names) {
    const column = table.column(name);
    if (column.kind === 'numeric') {
      const value = column.values[row] as number;
      out[name] = Number.isNaN(value) ? null : value;
    } else {
      const code = column.codes[row] as number;
      out[name] = code < 0 ? null : (column.dictionary[code] ?? null);
    }
  }
  return out;
}

function columnsOf(loaded: Awaited<ReturnType<typeof stored>>): Map<string, Column> {
  const columns = new Map<string, Column>(loaded.table.columns.map((column) => [column.name, column]));
  if (loaded.time)
    columns.set(loaded.time.name, numericFromValues(loaded.time.name, [...loaded.time.values]));
  return columns;
}

describe('train/serve parity of history features', () => {
  it('serving reads, from the entity history, the very values the training table holds on the test rows', async () => {
    const rows = 1200;
    const { columns, fields } = jobs(rows);
    const snapshot = await stored(new Table(columns), fields);
    const built = buildFeatureTable(snapshot, { derived: [], history: BUILD });
    const trained = await stored(built.table, built.fields);
    const test = splitLabelledRows(trained.table, 'cut_seconds', {
      kind: 'ordered',
      testFraction: 0.2,
      validationFraction: 0.1,
    }).test;
    expect(test.length).toBeGreaterThan(200);

    // What the manifest pins: the inputs a request carries are the time column and the keys and
    // the value columns other than the target, which is never in a request.
    const definition = built.build.definition;
    expect(definition.inputs.map((input) => input.name)).toEqual([
      'released_at',
      'customer_id',
      'machine',
      'quantity',
    ]);
    const modelFeatures: Feature[] = [
      { kind: 'numeric', name: 'quantity' },
      ...HISTORY.map((feature): Feature => ({ kind: 'numeric', name: feature.name })),
    ];
    const serving = servingFeatureBuild(
      {
        featureBuild: {
          ...definition,
          history: BUILD,
          sha256: featureBuildHash(definition),
          table: { key: 'k', hash: 'h'.repeat(64), rows },
        },
      },
      modelFeatures,
    );
    if (!serving) throw new Error('a manifest with history features gives a serving build');
    expect(serving.requestFeatures.map((feature) => feature.name)).toEqual([
      'quantity',
      'released_at',
      'customer_id',
      'machine',
    ]);
    // Serving's history starts from the built table as the version's file holds it.
    const base = EntityHistory.fromColumns(HISTORY, columnsOf(trained), rows, 'released_at', 'cut_seconds');
    serving.history = new ServedHistory('parity', BUILD, base, base);

    const names = serving.requestFeatures.map((feature) => feature.name);
    const withTime = new Table([...columnsOf(trained).values()]);
    const requests = Array.from(test, (row) => requestRow(withTime, names, row));
    // Shuffled and in one batch: a request's order and its other rows change nothing.
    const order = requests.map((_, i) => i).sort((a, b) => ((a * 7) % 13) - ((b * 7) % 13) || a - b);
    const scored = scoringTable(
      { features: serving.sourceFeatures, featureBuild: serving },
      order.map((i) => requests[i] as RawRow),
      undefined,
    );
    const trainedTest = trained.table.take(test);
    for (const feature of HISTORY) {
      const offline = trainedTest.numeric(feature.name).values;
      const online = scored.table.numeric(feature.name).values;
      order.forEach((i, position) => {
        if (!Object.is(online[position], offline[i])) {
          throw new Error(`${feature.name} test row ${i}: served ${online[position]}, trained ${offline[i]}`);
        }
      });
      // Each feature has values and gaps worth comparing, not one constant.
      const present = Array.from(offline).filter(Number.isFinite);
      expect(present.length, feature.name).toBeGreaterThan(offline.length / 2);
      expect(new Set(present).size, feature.name).toBeGreaterThan(2);
    }
    // Rows without a customer have no customer history, in both paths.
    expect(Array.from(trainedTest.numeric('last_cut').values).some(Number.isNaN)).toBe(true);
  });

  it('grows with the outcomes that arrive after the table, and never counts a request as an event', () => {
    const rows = 300;
    const { columns } = jobs(rows);
    const table = new Map(columns.map((column) => [column.name, column]));
    const base = EntityHistory.fromColumns(HISTORY, table, rows, 'released_at', 'cut_seconds');
    const later = base.tableLatest + DAY;
    const ask = (history: EntityHistory, row: RawRow) =>
      Object.fromEntries(history.valuesFor([row]).map((column) => [column.name, column.values[0]]));
    const request = { released_at: later + HOUR, customer_id: 'C5', machine: 102, quantity: 4 };
    const before = ask(base, request);
    expect(Number.isFinite(before.last_cut)).toBe(true);

    const grown = base.withLaterEvents([
      // An outcome of customer C5 after the table: the latest event before the request.
      { inputs: { released_at: later, customer_id: 'C5', machine: 102, quantity: 9 }, actual: 123.5 },
      // One at the table's time or before is in the table already (or was left out of it): not again.
      { inputs: { released_at: base.tableLatest, customer_id: 'C5', machine: 102 }, actual: 999 },
      // Hostile or incomplete rows are no events: a time as text, no key, no actual.
      { inputs: { released_at: String(later), customer_id: 'C5', machine: 102 }, actual: 555 },
      { inputs: { released_at: later, machine: 102 }, actual: 777 },
      { inputs: { released_at: later, customer_id: 'C5', machine: 102 }, actual: null },
    ]);
    expect(grown.laterEvents).toBe(3); // those after the table with a numeric time
    const after = ask(grown, request);
    expect(after.last_cut).toBe(123.5);
    expect(after.cut_before_last).toBe(before.last_cut);
    expect(after.days_since).toBeCloseTo(HOUR / DAY, 12);
    expect(after.qty_last_5).not.toBe(before.qty_last_5);
    // The history it grew from is unchanged (requests scoring with it are not disturbed).
    expect(ask(base, request)).toEqual(before);

    // Two request rows of one customer: the later does not see the earlier, which has no target yet.
    const pair = grown.valuesFor([request, { ...request, released_at: later + 2 * HOUR }]);
    const lastCut = pair.find((column) => column.name === 'last_cut')?.values;
    expect([lastCut?.[0], lastCut?.[1]]).toEqual([123.5, 123.5]);
    // A request at the outcome's own time does not see it; an unknown customer has no history.
    expect(ask(grown, { ...request, released_at: later }).last_cut).toBe(before.last_cut);
    expect(ask(grown, { ...request, customer_id: 'NEW' }).last_cut).toBeNaN();
    expect(ask(grown, { ...request, customer_id: 'NEW' }).days_since).toBeNaN();
    // Features by machine do not care about the customer.
    expect(ask(grown, { ...request, customer_id: 'NEW' }).jobs_machine_3d).toBe(after.jobs_machine_3d);
    // A customer id sent as a number names the same entity as its text in the table.
    const numeric = EntityHistory.fromColumns(
      HISTORY.filter((feature) => feature.by.join() === 'machine'),
      table,
      rows,
      'released_at',
      'cut_seconds',
    );
    expect(ask(numeric, { released_at: later, machine: '103' })).toEqual(
      ask(numeric, { released_at: later, machine: 103 }),
    );
  });
});
