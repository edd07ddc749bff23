import { describe, expect, it } from 'vitest';
import {
  buildHistoryColumns,
  entityCodes,
  historyValues,
  orderByEntityAndTime,
} from '../../../../../lifecycle/features/history';
import { categoricalFromLabels, type Column } from '../../../../../ml/table';

const DAY = 86_400_000;

describe('building history columns from a table', () => {
  const customer = categoricalFromLabels('customer', ['a', 'b', 'a', 'a', 'b']);
  const time: Column = {
    kind: 'numeric',
    name: 'ordered_at',
    values: Float64Array.from([0, 1, 2, 9, 30], (d) => d * DAY),
  };
  const orders: Column = { kind: 'numeric', name: 'orders', values: Float64Array.from([3, 4, 5, 6, 7]) };
  const columns = new Map<string, Column>([
    ['customer', customer],
    ['ordered_at', time],
    ['orders', orders],
  ]);

  it('computes each request over its keys, in order, as the computation alone would', () => {
    const built = buildHistoryColumns(
      [
        {
          name: 'prev_orders',
          of: 'orders',
          by: ['customer'],
          definition: { kind: 'lag', lag: 1, gapMs: 0 },
        },
        {
          name: 'orders_7d',
          of: 'orders',
          by: ['customer'],
          definition: { kind: 'rolling', stat: 'sum', window: { kind: 'time', ms: 7 * DAY }, gapMs: 0 },
        },
        { name: 'days_since', by: ['customer'], definition: { kind: 'since', unitMs: DAY, gapMs: 0 } },
      ],
      columns,
      5,
      'ordered_at',
    );
    expect(built.map((column) => column.name)).toEqual(['prev_orders', 'orders_7d', 'days_since']);
    expect([...(built[0]?.values ?? [])]).toEqual([NaN, NaN, 3, 5, 4]);
    expect([...(built[1]?.values ?? [])]).toEqual([NaN, NaN, 3, 5, 0]);
    expect([...(built[2]?.values ?? [])]).toEqual([NaN, NaN, 2, 7, 29]);
    const order = orderByEntityAndTime(entityCodes([customer], 5), time.values);
    expect(built[0]?.values).toEqual(
      historyValues(order, time.values, orders.values, { kind: 'lag', lag: 1, gapMs: 0 }),
    );
  });

  it('refuses a missing or categorical column with its role', () => {
    const lag = { kind: 'lag', lag: 1, gapMs: 0 } as const;
    expect(() =>
      buildHistoryColumns(
        [{ name: 'x', of: 'customer', by: ['customer'], definition: lag }],
        columns,
        5,
        'ordered_at',
      ),
    ).toThrow('history features need the value column "customer" as numbers or true/false, not categories');
    expect(() =>
      buildHistoryColumns(
        [{ name: 'x', of: 'orders', by: ['plant'], definition: lag }],
        columns,
        5,
        'ordered_at',
      ),
    ).toThrow('history features need the key column "plant", which is missing');
    expect(() => buildHistoryColumns([], columns, 5, 'released_at')).toThrow(
      'history features need the time column "released_at" as numbers, which is missing',
    );
  });
});
