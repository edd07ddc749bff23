import { describe, expect, it } from 'vitest';
import type { Feature } from '../../../ml/model';
import {
  categoryText,
  codeLabels,
  columnInput,
  MISSING_CATEGORY,
  numberLabels,
  tableFeeds,
} from '../../../ml/onnx/inputs';
import { MISSING_CODE, Table, categoricalFromLabels, numericFromValues } from '../../../ml/table';

const MATERIAL: Feature = { kind: 'categorical', name: 'material', categories: ['steel', 'aluminium'] };
const THICKNESS: Feature = { kind: 'numeric', name: 'thickness_mm' };

describe('ONNX input building', () => {
  it('labels dictionary codes, with missing codes and codes past the dictionary as the missing marker', () => {
    const codes = Int32Array.of(0, 1, MISSING_CODE, 2, 0, 7);
    expect(codeLabels(codes, ['steel', 'aluminium', 'stainless'])).toEqual([
      'steel',
      'aluminium',
      MISSING_CATEGORY,
      'stainless',
      'steel',
      MISSING_CATEGORY,
    ]);
    expect(codeLabels(new Int32Array(0), ['steel'])).toEqual([]);
  });

  it('labels numbers by their text, NaN as missing, the same as one value at a time', () => {
    const values = Float64Array.of(3, Number.NaN, 3, 1.5, -0, 1e21, 2);
    const labels = numberLabels(values);
    expect(labels).toEqual(['3', MISSING_CATEGORY, '3', '1.5', '0', '1e+21', '2']);
    expect(labels).toEqual(Array.from(values, (value) => categoryText(value)));
  });

  it('turns a numeric column into float32 rounded like Math.fround, keeping NaN', () => {
    const values = Float64Array.of(0.1, 2.5000001, Number.NaN, -1e-50, 1e40);
    const data = columnInput(THICKNESS, { kind: 'numeric', name: THICKNESS.name, values });
    expect(data).toBeInstanceOf(Float32Array);
    expect(Array.from(data as Float32Array)).toEqual(Array.from(values, (value) => Math.fround(value)));
  });

  it("takes a categorical feature from a numeric column by each number's text", () => {
    const data = columnInput(
      { kind: 'categorical', name: 'shift', categories: ['1', '2'] },
      { kind: 'numeric', name: 'shift', values: Float64Array.of(1, Number.NaN, 2) },
    );
    expect(data).toEqual(['1', MISSING_CATEGORY, '2']);
  });

  it('refuses categories for a numeric feature', () => {
    expect(() =>
      columnInput(THICKNESS, {
        kind: 'categorical',
        name: THICKNESS.name,
        codes: Int32Array.of(0),
        dictionary: ['x'],
      }),
    ).toThrow(/"thickness_mm" is numeric/);
  });

  it('builds one [rows, 1] tensor per feature, ignoring other columns', () => {
    const table = new Table([
      categoricalFromLabels('operator', ['a', 'b', 'c']),
      numericFromValues(THICKNESS.name, [1, null, 3]),
      categoricalFromLabels(MATERIAL.name, ['aluminium', null, 'titanium']),
    ]);
    const feeds = tableFeeds([THICKNESS, MATERIAL], table);
    expect(Object.keys(feeds)).toEqual([THICKNESS.name, MATERIAL.name]);
    expect(feeds[THICKNESS.name]?.type).toBe('float32');
    expect(feeds[THICKNESS.name]?.dims).toEqual([3, 1]);
    expect(feeds[MATERIAL.name]?.type).toBe('string');
    expect(feeds[MATERIAL.name]?.data).toEqual(['aluminium', MISSING_CATEGORY, 'titanium']);
  });

  it('names a missing column', () => {
    const table = new Table([numericFromValues(THICKNESS.name, [1])]);
    expect(() => tableFeeds([THICKNESS, MATERIAL], table)).toThrow('Missing input column "material"');
  });
});
