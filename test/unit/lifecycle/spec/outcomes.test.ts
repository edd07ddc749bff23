/** The spec's `outcomes` part: where the nightly check reads the actual values from, checked like any spec SQL. */
import { describe, expect, it } from 'vitest';
import { MAX_QUERY_CHARS, parsePipelineSpec } from '../../../../lifecycle/spec';
import { shippedSpecInput, specInput, specProblems } from '../../../specBuilder';

const BOOKED = 'SELECT job_id AS key, actual_seconds AS actual, finished_at AS observed_at FROM shop.booked';

describe('the outcomes part of a spec', () => {
  it('is optional, and takes the query as a string or as its lines', () => {
    expect(parsePipelineSpec(specInput()).outcomes).toBeUndefined();
    expect(parsePipelineSpec(specInput({ outcomes: { query: BOOKED } })).outcomes).toEqual({ query: BOOKED });
    const lines = parsePipelineSpec(
      specInput({
        outcomes: {
          query: ['SELECT job_id AS key, actual_seconds AS actual', 'FROM shop.booked -- booked times;'],
        },
      }),
    );
    expect(lines.outcomes?.query).toBe(
      'SELECT job_id AS key, actual_seconds AS actual\nFROM shop.booked -- booked times;',
    );
  });

  it('refuses a query that is not a single read-only SELECT, naming outcomes.query', () => {
    const withQuery = (query: unknown) => specProblems(specInput({ outcomes: { query } }));
    expect(withQuery('DELETE FROM shop.booked')).toEqual([
      'outcomes.query: must be a SELECT (or WITH ... SELECT) query, not DELETE',
    ]);
    expect(withQuery(`${BOOKED}; DROP TABLE shop.booked`)).toEqual([
      'outcomes.query: must be a single statement (no ";" between statements)',
    ]);
    expect(
      withQuery(
        'WITH gone AS (DELETE FROM shop.booked RETURNING *) SELECT job_id AS key, 1 AS actual FROM gone',
      ),
    ).toEqual(['outcomes.query: must only read: it contains DELETE']);
    expect(withQuery(`${BOOKED} WHERE note = 'a\u0000'`)).toEqual([
      'outcomes.query: must not contain NUL characters',
    ]);
    expect(withQuery(42)).toEqual([
      'outcomes.query: must be a SELECT query: a string, or a list of its lines',
    ]);
    expect(withQuery([])).toEqual(['outcomes.query: must hold at least one line']);
    expect(specProblems(specInput({ outcomes: {} }))).toEqual(['outcomes.query: required (string)']);
    expect(specProblems(specInput({ outcomes: { query: BOOKED, table: 'shop.booked' } }))).toEqual([
      'outcomes.table: unknown key; allowed keys: query',
    ]);
  });

  it('refuses a query longer than the limit, as it does a source query', () => {
    const long = `${BOOKED} WHERE note <> '${'x'.repeat(MAX_QUERY_CHARS)}'`;
    const message = `must be at most ${MAX_QUERY_CHARS} characters, not ${long.length}: move long parts into a view`;
    expect(specProblems(specInput({ outcomes: { query: long } }))).toEqual([`outcomes.query: ${message}`]);
    expect(specProblems(specInput({ source: { kind: 'sql', query: long } }))).toEqual([
      `source.query: ${message}`,
    ]);
  });

  it('does not apply to a forecast, whose actuals come from its source', () => {
    const forecast = specInput({ outcomes: { query: BOOKED } }, shippedSpecInput('order-forecast'));
    expect(specProblems(forecast)).toEqual([
      'outcomes: applies to regression and classification models; a forecast learns its actuals from the periods its source brings in: remove it',
    ]);
  });
});
