/** Comparing a snapshot's statistics gathered while its rows streamed with those of the whole table. */
import { expect } from 'vitest';
import type { DatasetStatistics } from '../ml/statistics';

/**
 * Expects `streamed` to equal `whole`: counts, order statistics, bins and means exactly; each
 * standard deviation within a relative 1e-10, since its squared deviations are summed in another
 * order.
 */
export function expectSameStatistics(streamed: DatasetStatistics, whole: DatasetStatistics): void {
  expect(streamed.rowCount).toBe(whole.rowCount);
  expect(streamed.columns).toHaveLength(whole.columns.length);
  streamed.columns.forEach((column, index) => {
    const wanted = whole.columns[index];
    if (column.kind !== 'numeric' || wanted?.kind !== 'numeric') {
      expect(column).toEqual(wanted);
      return;
    }
    const { std, ...rest } = column;
    const { std: wantedStd, ...wantedRest } = wanted;
    expect(rest).toEqual(wantedRest);
    if (wantedStd === null) expect(std).toBeNull();
    else
      expect(Math.abs((std ?? Number.NaN) - wantedStd)).toBeLessThanOrEqual(1e-10 * Math.max(1, wantedStd));
  });
}
