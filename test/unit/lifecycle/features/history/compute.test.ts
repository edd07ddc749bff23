import { describe, expect, it } from 'vitest';
import {
  entityCodes,
  type HistoryDefinition,
  historyValues,
  orderByEntityAndTime,
} from '../../../../../lifecycle/features/history';
import { categoricalFromLabels, type Column } from '../../../../../ml/table';

const DAY = 86_400_000;

/** A history feature over one key column of labels, times in days. */
function compute(
  keys: (string | null)[],
  days: number[],
  values: number[],
  definition: HistoryDefinition,
): number[] {
  const entity = entityCodes([categoricalFromLabels('key', keys)], keys.length);
  const time = Float64Array.from(days, (day) => day * DAY);
  return [...historyValues(orderByEntityAndTime(entity, time), time, Float64Array.from(values), definition)];
}

const rolling = (
  stat: 'mean' | 'sum' | 'count' | 'min' | 'max',
  window: { days: number } | { events: number },
  gapDays = 0,
): HistoryDefinition => ({
  kind: 'rolling',
  stat,
  window:
    'days' in window ? { kind: 'time', ms: window.days * DAY } : { kind: 'events', count: window.events },
  gapMs: gapDays * DAY,
});

/** Seeded generator (mulberry32), so a failing case can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * The reference: for each row, its entity's rows strictly before its cut-off, sorted by time then
 * row index, and the statistic computed from that list directly, O(n²).
 */
function bruteForce(
  entity: Int32Array,
  time: Float64Array,
  values: Float64Array,
  definition: HistoryDefinition,
): number[] {
  return Array.from(entity, (key, row) => {
    const t = time[row] as number;
    if (key < 0 || Number.isNaN(t)) return NaN;
    const cutoff = t - definition.gapMs;
    const past: number[] = [];
    for (let other = 0; other < entity.length; other++) {
      const value = definition.kind === 'since' ? 0 : (values[other] as number);
      if (entity[other] === key && (time[other] as number) < cutoff && !Number.isNaN(value)) past.push(other);
    }
    past.sort((a, b) => (time[a] as number) - (time[b] as number) || a - b);
    if (past.length === 0) return NaN;
    if (definition.kind === 'since') return (t - (time[past.at(-1) as number] as number)) / definition.unitMs;
    if (definition.kind === 'lag') {
      const at = past.at(-definition.lag);
      return past.length >= definition.lag && at !== undefined ? (values[at] as number) : NaN;
    }
    const window = definition.window;
    const inWindow =
      window.kind === 'events'
        ? past.slice(-window.count)
        : past.filter((other) => (time[other] as number) >= cutoff - window.ms);
    const seen = inWindow.map((other) => values[other] as number);
    const sum = seen.reduce((a, b) => a + b, 0);
    switch (definition.stat) {
      case 'count':
        return seen.length;
      case 'sum':
        return sum;
      case 'mean':
        return seen.length ? sum / seen.length : NaN;
      case 'min':
        return seen.length ? Math.min(...seen) : NaN;
      case 'max':
        return seen.length ? Math.max(...seen) : NaN;
    }
  });
}

const DEFINITIONS: HistoryDefinition[] = [
  { kind: 'lag', lag: 1, gapMs: 0 },
  { kind: 'lag', lag: 3, gapMs: 2 * DAY },
  { kind: 'since', unitMs: DAY, gapMs: 0 },
  { kind: 'since', unitMs: 3_600_000, gapMs: DAY },
  ...(['mean', 'sum', 'count', 'min', 'max'] as const).flatMap((stat) => [
    rolling(stat, { days: 7 }),
    rolling(stat, { days: 3 }, 2),
    rolling(stat, { events: 4 }),
    rolling(stat, { events: 2 }, 1),
  ]),
];

const describeDefinition = (definition: HistoryDefinition) => JSON.stringify(definition);

/** Close to the reference, NaN where it is NaN (prefix sums may differ in the last bits). */
function expectSame(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length).toBe(expected.length);
  for (let row = 0; row < expected.length; row++) {
    const want = expected[row] as number;
    const got = actual[row] as number;
    if (Number.isNaN(want)) expect(got, `${what}, row ${row}`).toBeNaN();
    else expect(got, `${what}, row ${row}`).toBeCloseTo(want, 6);
  }
}

/** Random rows: a few entities, times on few days (so many ties), some missing values, keys and times. */
function randomRows(seed: number, rowCount: number) {
  const next = random(seed);
  const labels = Array.from({ length: rowCount }, () =>
    next() < 0.05 ? null : `c${Math.floor(next() * 4)}`,
  );
  const plant = Array.from({ length: rowCount }, () => Math.floor(next() * 2));
  const time = Float64Array.from({ length: rowCount }, () =>
    next() < 0.03 ? NaN : Math.floor(next() * 20) * DAY + (next() < 0.3 ? 3_600_000 : 0),
  );
  const values = Float64Array.from({ length: rowCount }, () =>
    next() < 0.1 ? NaN : Math.round(next() * 200 - 50),
  );
  const keys: Column[] = [
    categoricalFromLabels('customer', labels),
    { kind: 'numeric', name: 'plant', values: Float64Array.from(plant) },
  ];
  return { entity: entityCodes(keys, rowCount), time, values };
}

describe('history features', () => {
  it('lag 1 and 2 read the previous events of the same entity, never the row or its own time', () => {
    const keys = ['a', 'b', 'a', 'a', 'b', 'a'];
    const days = [1, 1, 2, 2, 5, 9];
    const minutes = [10, 20, 30, 40, 50, 60];
    // a: day 1 (10), day 2 (30, 40: same time, neither sees the other), day 9 (60).
    expect(compute(keys, days, minutes, { kind: 'lag', lag: 1, gapMs: 0 })).toEqual([
      NaN,
      NaN,
      10,
      10,
      20,
      40,
    ]);
    expect(compute(keys, days, minutes, { kind: 'lag', lag: 2, gapMs: 0 })).toEqual([
      NaN,
      NaN,
      NaN,
      NaN,
      NaN,
      30,
    ]);
  });

  it('rolling statistics over a time window ending just before the row, or over its last events', () => {
    const keys = ['m', 'm', 'm', 'm', 'm'];
    const days = [0, 10, 28, 30, 40];
    const values = [4, 8, 6, 2, 10];
    // Day 28 sees [0, 28): 4, 8. Day 30 sees [2, 30): 8, 6. Day 40 sees [12, 40): 6, 2.
    expect(compute(keys, days, values, rolling('sum', { days: 28 }))).toEqual([NaN, 4, 12, 14, 8]);
    expect(compute(keys, days, values, rolling('count', { days: 28 }))).toEqual([NaN, 1, 2, 2, 2]);
    expect(compute(keys, days, values, rolling('mean', { days: 28 }))).toEqual([NaN, 4, 6, 7, 4]);
    expect(compute(keys, days, values, rolling('min', { days: 28 }))).toEqual([NaN, 4, 4, 6, 2]);
    expect(compute(keys, days, values, rolling('max', { days: 28 }))).toEqual([NaN, 4, 8, 8, 6]);
    // The window starts at the cut-off minus its length, inclusive: day 28 sees day 0 in 28 days.
    expect(compute(keys, days, values, rolling('count', { days: 27 }))).toEqual([NaN, 1, 1, 2, 2]);
    expect(compute(keys, days, values, rolling('mean', { events: 2 }))).toEqual([NaN, 4, 6, 7, 4]);
    expect(compute(keys, days, values, rolling('max', { events: 3 }))).toEqual([NaN, 4, 8, 8, 8]);
  });

  it('an empty window after some history counts 0 and sums 0; its mean, min and max are missing', () => {
    const keys = ['m', 'm'];
    const days = [0, 100];
    expect(compute(keys, days, [5, 1], rolling('count', { days: 7 }))).toEqual([NaN, 0]);
    expect(compute(keys, days, [5, 1], rolling('sum', { days: 7 }))).toEqual([NaN, 0]);
    expect(compute(keys, days, [5, 1], rolling('mean', { days: 7 }))).toEqual([NaN, NaN]);
    expect(compute(keys, days, [5, 1], rolling('min', { days: 7 }))).toEqual([NaN, NaN]);
  });

  it('time since the previous event, in days or hours, whatever its value', () => {
    const keys = ['a', 'a', 'a', 'b', 'a'];
    const days = [0, 0.5, 0.5, 3, 4];
    const values = [1, NaN, 2, 3, 4];
    expect(compute(keys, days, values, { kind: 'since', unitMs: DAY, gapMs: 0 })).toEqual([
      NaN,
      0.5,
      0.5,
      NaN,
      3.5,
    ]);
    expect(compute(keys, days, values, { kind: 'since', unitMs: 3_600_000, gapMs: 0 })).toEqual([
      NaN,
      12,
      12,
      NaN,
      84,
    ]);
  });

  it('a gap leaves out the latest time before the row, as a forecast made that long before would', () => {
    const keys = ['s', 's', 's', 's'];
    const days = [0, 7, 14, 21];
    const orders = [3, 5, 7, 9];
    // With a 7-day gap the cut-off is t - 7d, strictly before it: day 14 sees day 0 only.
    expect(compute(keys, days, orders, { kind: 'lag', lag: 1, gapMs: 7 * DAY })).toEqual([NaN, NaN, 3, 5]);
    expect(compute(keys, days, orders, rolling('sum', { days: 14 }, 7))).toEqual([NaN, NaN, 3, 8]);
    expect(compute(keys, days, orders, { kind: 'since', unitMs: DAY, gapMs: 7 * DAY })).toEqual([
      NaN,
      NaN,
      14,
      14,
    ]);
  });

  it('missing values are skipped, missing keys and times give missing features', () => {
    const keys = ['a', 'a', null, 'a', 'a'];
    const days = [0, 1, 2, Number.NaN, 3];
    const values = [2, NaN, 9, 4, 6];
    expect(compute(keys, days, values, { kind: 'lag', lag: 1, gapMs: 0 })).toEqual([NaN, 2, NaN, NaN, 2]);
    expect(compute(keys, days, values, rolling('count', { days: 30 }))).toEqual([NaN, 1, NaN, NaN, 1]);
  });

  it('several keys together name an entity', () => {
    const customer = categoricalFromLabels('customer', ['x', 'x', 'y', 'x']);
    const family = categoricalFromLabels('family', ['steel', 'alu', 'steel', 'steel']);
    const entity = entityCodes([customer, family], 4);
    expect(entity[0]).toBe(entity[3]);
    expect(new Set([entity[0], entity[1], entity[2]]).size).toBe(3);
  });

  it('equals a brute-force reference on random rows with ties, missing values and several entities', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const { entity, time, values } = randomRows(seed, 300);
      const order = orderByEntityAndTime(entity, time);
      for (const definition of DEFINITIONS) {
        expectSame(
          historyValues(order, time, values, definition),
          bruteForce(entity, time, values, definition),
          `seed ${seed}, ${describeDefinition(definition)}`,
        );
      }
    }
  });

  it('leaks nothing: shuffled rows see only strictly earlier rows, and changing a row or a later target changes nothing', () => {
    const next = random(42);
    const rowCount = 400;
    // The target is a function of time (a trend plus a weekly wave) per entity: any leak of the
    // row's own or a later target would show as a feature equal to a later value.
    const rows = Array.from({ length: rowCount }, () => {
      const day = Math.floor(next() * 60);
      const customer = Math.floor(next() * 5);
      return { customer, day, orders: customer * 100 + day + 10 * Math.sin(day) };
    });
    // Shuffled: the order of the rows says nothing about their time.
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [rows[i], rows[j]] = [rows[j] as (typeof rows)[number], rows[i] as (typeof rows)[number]];
    }
    const entity = entityCodes(
      [
        categoricalFromLabels(
          'customer',
          rows.map((row) => `c${row.customer}`),
        ),
      ],
      rowCount,
    );
    const time = Float64Array.from(rows, (row) => row.day * DAY);
    const target = Float64Array.from(rows, (row) => row.orders);
    const order = orderByEntityAndTime(entity, time);
    const features = DEFINITIONS.map((definition) => historyValues(order, time, target, definition));

    DEFINITIONS.forEach((definition, index) => {
      // Each row's features equal a computation from its entity's strictly earlier rows only.
      expectSame(
        features[index] as Float64Array,
        bruteForce(entity, time, target, definition),
        describeDefinition(definition),
      );
    });

    for (let trial = 0; trial < 40; trial++) {
      const row = Math.floor(next() * rowCount);
      const t = time[row] as number;
      // The row's own target and every target at its time or later (of any entity) made up anew.
      const changed = target.map((value, other) => ((time[other] as number) >= t ? next() * 1e6 : value));
      DEFINITIONS.forEach((definition, index) => {
        const again = historyValues(order, time, changed, definition);
        const before = (features[index] as Float64Array)[row] as number;
        expect(Object.is(again[row], before) || again[row] === before, describeDefinition(definition)).toBe(
          true,
        );
      });
    }
  });
});
