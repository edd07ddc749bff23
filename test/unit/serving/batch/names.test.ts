/** Where batch scoring writes: schema scoring only, under names PostgreSQL does not fold. */
import { describe, expect, it } from 'vitest';
import { resultTableName, resultTableSql, stagingTableSql } from '../../../../serving/batch/names';

describe('result table names', () => {
  it('take a bare name or one in schema scoring', () => {
    expect(resultTableName('open_quote_prices')).toEqual({ name: 'open_quote_prices' });
    expect(resultTableName('scoring.open_quote_prices')).toEqual({ name: 'open_quote_prices' });
    expect(resultTableSql('open_quote_prices')).toBe('scoring."open_quote_prices"');
  });

  it('refuse any other schema, and names that need quoting', () => {
    const otherSchema =
      'into: results are written to schema scoring only: give a name such as open_quote_prices (or scoring.open_quote_prices), not ';
    expect(resultTableName('registry.versions')).toEqual({ problem: `${otherSchema}"registry.versions"` });
    expect(resultTableName('a.b.c')).toEqual({ problem: `${otherSchema}"a.b.c"` });
    const notAName = (name: string) => ({
      problem: `into: ${JSON.stringify(name)} is not a table name: use lower-case letters, digits and _ (at most 63), starting with a letter or _`,
    });
    expect(resultTableName('Open_Quotes')).toEqual(notAName('Open_Quotes'));
    expect(resultTableName('quotes"; DROP TABLE x; --')).toEqual(notAName('quotes"; DROP TABLE x; --'));
    expect(resultTableName('1st')).toEqual(notAName('1st'));
    expect(resultTableName('x'.repeat(64))).toEqual(notAName('x'.repeat(64)));
  });

  it('name a run staging table by its number only', () => {
    expect(stagingTableSql(17)).toBe('batch_scoring.rows_17');
    expect(() => stagingTableSql(0)).toThrow(RangeError);
    expect(() => stagingTableSql(1.5)).toThrow(RangeError);
  });
});
