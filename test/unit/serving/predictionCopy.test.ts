import { describe, expect, it } from 'vitest';
import { copyLine, encodePrediction, isoTime, parseCopyLine } from '../../../serving/predictionCopy';

describe('a prediction line of COPY text', () => {
  it('reads back as the row it was made from, escapes and nulls included', () => {
    const row = {
      predictionId: '6f1c1c2e-2b7a-4a57-9a55-0c8b2f0b2a11',
      model: 'cut-time',
      version: 3,
      alias: 'production',
      key: 'job\t7\\b\nline\r',
      inputs: '{"notes":"a\\\\tb","x":1}',
      output: '{"value":1.5}',
      warnings: '[]',
      servedAt: '2026-12-07T03:04:05.006Z',
      shadowOf: null,
    };
    const line = copyLine(row);
    expect(line.split('\n')).toHaveLength(2);
    expect(line.split('\t')).toHaveLength(10);
    expect(parseCopyLine(line)).toEqual(row);
  });

  it('keeps JSON columns whole through COPY: their escapes doubled, one field each, read back the same', () => {
    const inputs = { notes: 'tab\there, newline\nthere, \\ and "quotes"', cr: '\r' };
    const encoded = encodePrediction({ ...base(), inputs, warnings: [{ message: 'a\tb' }] });
    if (!('line' in encoded)) throw new Error('the row was not encoded');
    const fields = encoded.line.slice(0, -1).split('\t');
    expect(fields).toHaveLength(10);
    // COPY's text format: every backslash of the JSON doubled, and no raw tab, newline or return.
    expect(fields[5]).toBe(JSON.stringify(inputs).replaceAll('\\', '\\\\'));
    expect(fields[5]).not.toMatch(/[\n\r\t]/);
    const back = parseCopyLine(encoded.line);
    expect(JSON.parse(back.inputs)).toEqual(inputs);
    expect(JSON.parse(back.warnings)).toEqual([{ message: 'a\tb' }]);
  });

  it('encodes a record as JSON.stringify and toISOString would', () => {
    const servedAt = new Date(Date.UTC(2026, 11, 7, 3, 4, 5, 67));
    const encoded = encodePrediction({
      predictionId: 'id',
      model: 'm',
      version: 1,
      alias: 'production',
      key: 'k\u0000',
      inputs: { a: 1.25, b: 'x\u0000y', c: null },
      output: { value: 0.1 + 0.2 },
      warnings: [],
      servedAt,
      shadowOf: null,
    });
    expect(encoded).toMatchObject({
      row: {
        key: 'k\uFFFD',
        inputs: '{"a":1.25,"b":"x\uFFFDy","c":null}',
        output: JSON.stringify({ value: 0.1 + 0.2 }),
        warnings: '[]',
        servedAt: servedAt.toISOString(),
      },
    });
    expect(encodePrediction({ ...base(), output: { value: Number.NaN } })).toMatchObject({
      row: { output: '{"value":null}' },
    });
  });

  it('writes every millisecond of a second as toISOString does', () => {
    const start = Date.UTC(2026, 0, 1, 23, 59, 58, 990);
    for (let ms = start; ms < start + 1_100; ms += 1) {
      expect(isoTime(new Date(ms))).toBe(new Date(ms).toISOString());
    }
  });
});

function base() {
  return {
    predictionId: 'id',
    model: 'm',
    version: 1,
    alias: 'production',
    key: null,
    inputs: {},
    output: { value: 1 },
    warnings: [],
    servedAt: new Date(),
    shadowOf: null,
  };
}
