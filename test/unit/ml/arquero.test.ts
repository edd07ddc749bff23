import * as aq from 'arquero';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromArquero, toArquero } from '../../../ml/arquero';
import { readCsvFile } from '../../../ml/csv';
import { tableFromRows } from '../../../ml/rows';
import { MISSING_CODE, type Table } from '../../../ml/table';
import { steelEnergyCsv as steelPath } from '../../sharedData';

interface SteelRow {
  Load_Type: string;
  Usage_kWh: number;
  WeekStatus: string;
}

describe('arquero conversions on the steel data', () => {
  let steel: Table;
  beforeAll(async () => {
    steel = await readCsvFile(steelPath);
  });

  it('round-trips every column unchanged', () => {
    const back = fromArquero(toArquero(steel));
    expect(back.rowCount).toBe(35_040);
    expect(back.columns).toEqual(steel.columns);
  });

  it('filters, derives and orders with arquero verbs', () => {
    const result = fromArquero(
      toArquero(steel)
        .filter((d: SteelRow) => d.Load_Type === 'Maximum_Load' && d.Usage_kWh > 100)
        .derive({ doubled: (d: SteelRow) => d.Usage_kWh * 2, tag: (d: SteelRow) => `${d.WeekStatus}!` })
        .orderby(aq.desc('Usage_kWh')),
    );
    expect(result.rowCount).toBe(831);
    expect(result.categorical('Load_Type').dictionary).toEqual(['Light_Load', 'Medium_Load', 'Maximum_Load']);
    expect(new Set(result.categorical('Load_Type').codes)).toEqual(new Set([2]));
    expect(result.value('Usage_kWh', 0)).toBe(151.67);
    const usage = result.numeric('Usage_kWh').values;
    expect(usage.every((value, i) => value > 100 && (i === 0 || value <= (usage[i - 1] as number)))).toBe(
      true,
    );
    expect(result.column('doubled').kind).toBe('numeric');
    expect(result.value('doubled', 0)).toBe(303.34);
    expect(result.categorical('tag').dictionary.sort()).toEqual(['Weekday!', 'Weekend!']);
  });

  it('brings back a rollup', () => {
    const counts = fromArquero(
      toArquero(steel).groupby('Load_Type').rollup({ n: aq.op.count() }).orderby(aq.desc('n')),
    );
    expect(counts.categorical('Load_Type').dictionary).toEqual(['Light_Load', 'Medium_Load', 'Maximum_Load']);
    expect(Array.from(counts.numeric('n').values)).toEqual([18_072, 9_696, 7_272]);
  });
});

describe('arquero conversions with missing values', () => {
  it('shows missing categories as null and numbers as NaN, and keeps them missing on return', () => {
    const table = tableFromRows([
      { press: 'P1', kwh: 1 },
      { press: null, kwh: null },
      { press: 'P2', kwh: 3 },
    ]);
    const dt = toArquero(table);
    expect(dt.array('press')).toEqual(['P1', null, 'P2']);
    expect(Array.from(dt.array('kwh'))).toEqual([1, Number.NaN, 3]);
    expect(dt.rollup({ mean: aq.op.mean('kwh'), valid: aq.op.valid('kwh') }).objects()).toEqual([
      { mean: 2, valid: 2 },
    ]);
    const back = fromArquero(dt.filter((d: { kwh: number }) => !(d.kwh > 2)));
    expect(Array.from(back.categorical('press').codes)).toEqual([0, MISSING_CODE]);
    expect(back.numeric('kwh').values).toEqual(new Float64Array([1, Number.NaN]));
  });
});
