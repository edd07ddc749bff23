import { describe, expect, it } from 'vitest';
import { ServingHttpError } from '../../../serving/errors';
import { parsePredictRequest } from '../../../serving/payload';

/** The issues a body is refused with. */
function refusal(body: unknown, maxRows = 100): { field: string; reason: string }[] {
  try {
    parsePredictRequest(body, maxRows);
  } catch (error) {
    expect(error).toBeInstanceOf(ServingHttpError);
    expect((error as ServingHttpError).statusCode).toBe(400);
    return [...((error as ServingHttpError).issues ?? [])];
  }
  throw new Error('the body was accepted');
}

describe('parsePredictRequest', () => {
  it('reads a batch with keys, whole-number keys as text and null for none', () => {
    const request = parsePredictRequest(
      { rows: [{ a: 1 }, { a: 2 }, { a: 3 }], keys: ['job-1', 42, null] },
      100,
    );
    expect(request).toEqual({
      rows: [{ a: 1 }, { a: 2 }, { a: 3 }],
      keys: ['job-1', '42', null],
      field: 'rows',
    });
  });

  it('reads one row, with or without its key', () => {
    expect(parsePredictRequest({ row: { a: 1 }, key: 'job-9' }, 100)).toEqual({
      rows: [{ a: 1 }],
      keys: ['job-9'],
      field: 'row',
    });
    expect(parsePredictRequest({ row: { a: 1 } }, 100).keys).toEqual([null]);
  });

  it('refuses a body that is not an object, or has neither rows nor row, or both', () => {
    expect(refusal([{ a: 1 }])[0]?.field).toBe('body');
    expect(refusal({})).toEqual([{ field: 'rows', reason: expect.stringMatching(/is missing/) as string }]);
    expect(refusal({ rows: [{}], row: {} })).toEqual([
      { field: 'row', reason: 'give either rows (a batch) or row (one row), not both' },
    ]);
  });

  it('names unknown fields and keys that belong to the other form', () => {
    expect(refusal({ rows: [{}], rowz: [] }).map((issue) => issue.field)).toEqual(['rowz']);
    expect(refusal({ rows: [{}], key: 'x' })).toEqual([
      { field: 'key', reason: 'belongs to a single row: with rows, send keys (one per row)' },
    ]);
    expect(refusal({ row: {}, keys: ['x'] })[0]?.field).toBe('keys');
  });

  it('refuses rows that are not objects, empty batches and batches over the limit', () => {
    expect(refusal({ rows: [{}, 'a', null] })).toEqual([
      {
        field: 'rows[1]',
        reason: expect.stringMatching(/must be an object.*got a string \("a"\)/) as string,
      },
      { field: 'rows[2]', reason: expect.stringMatching(/got null/) as string },
    ]);
    expect(refusal({ rows: [] })).toEqual([{ field: 'rows', reason: 'is empty: send at least one row' }]);
    expect(refusal({ rows: {} })[0]?.reason).toBe('must be a list of rows, got an object');
    expect(refusal({ rows: [{}, {}, {}] }, 2)[0]?.reason).toMatch(
      /holds 3 rows, more than the 2 .*split the batch/,
    );
    expect(refusal({ row: [1] })[0]).toEqual({
      field: 'row',
      reason: expect.stringMatching(/got a list/) as string,
    });
  });

  it('refuses keys of the wrong count or type', () => {
    expect(refusal({ rows: [{}, {}], keys: ['a'] })[0]?.reason).toBe(
      'has 1 keys for 2 rows: give one key per row (null for none)',
    );
    expect(refusal({ rows: [{}, {}], keys: [1.5, true] })).toEqual([
      {
        field: 'keys[0]',
        reason: expect.stringMatching(/text or a whole number.*got a number \(1.5\)/) as string,
      },
      { field: 'keys[1]', reason: expect.stringMatching(/got a boolean/) as string },
    ]);
    expect(refusal({ row: {}, key: '' })[0]).toEqual({
      field: 'key',
      reason: 'must be 1 to 200 characters, got 0',
    });
    expect(refusal({ rows: [{}], keys: 'a' })[0]?.field).toBe('keys');
  });
});
