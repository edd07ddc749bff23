/** The spec's `scoring` part: batch scorings on a schedule, checked when the spec is read, no part of the model. */
import { describe, expect, it } from 'vitest';
import { modelHash, parsePipelineSpec } from '../../../../lifecycle/spec';
import { shippedSpecInput, specInput, specProblems } from '../../../specBuilder';

const OPEN_QUOTES = 'SELECT quote_id, thickness_mm, material, machine FROM shop.open_quotes';
const nightly = {
  name: 'reprice-open-quotes',
  query: OPEN_QUOTES,
  into: 'open_quote_prices',
  schedule: '0 3 * * *',
};

describe('the scoring part of a spec', () => {
  it('is optional, and holds named queries with their table, schedule and chunk size', () => {
    expect(parsePipelineSpec(specInput()).scoring).toBeUndefined();
    const spec = parsePipelineSpec(
      specInput({
        scoring: [nightly, { ...nightly, name: 'weekly', into: 'scoring.weekly', chunkRows: 5000 }],
      }),
    );
    expect(spec.scoring).toEqual([
      nightly,
      { ...nightly, name: 'weekly', into: 'scoring.weekly', chunkRows: 5000 },
    ]);
  });

  it('refuses what a run could not use, naming the field', () => {
    const withJob = (job: Record<string, unknown>) =>
      specProblems(specInput({ scoring: [{ ...nightly, ...job }] }));
    expect(withJob({ query: 'DELETE FROM shop.open_quotes' })).toEqual([
      'scoring[0].query: must be a SELECT (or WITH ... SELECT) query, not DELETE',
    ]);
    expect(withJob({ into: 'registry.versions' })).toEqual([
      'scoring[0].into: must be a table name in schema scoring: lower-case letters, digits and _, e.g. open_quote_prices',
    ]);
    expect(withJob({ schedule: 'every night' })).toEqual([
      'scoring[0].schedule: must be a cron expression of 5 fields (minute hour day-of-month month day-of-week), got 2',
    ]);
    expect(withJob({ name: 'Reprice Quotes' })).toEqual([
      'scoring[0].name: must be kebab-case: lower-case letters and digits joined by "-"',
    ]);
    expect(withJob({ chunkRows: 10 })).toEqual([
      'scoring[0].chunkRows: must be an integer in [100, 5000000]',
    ]);
    expect(specProblems(specInput({ scoring: [nightly, nightly] }))).toEqual([
      'scoring[1].name: "reprice-open-quotes" is used twice: each scheduled scoring needs a name of its own',
    ]);
  });

  it('does not apply to a forecast, which answers by series and period', () => {
    expect(specProblems(specInput({ scoring: [nightly] }, shippedSpecInput('order-forecast')))).toEqual([
      'scoring: applies to regression and classification models; a forecast answers by series and period (POST /v1/models/:name/forecast): remove it',
    ]);
  });

  it('does not change the model: editing it is a revision of the same version', () => {
    const spec = parsePipelineSpec(specInput());
    expect(modelHash(parsePipelineSpec(specInput({ scoring: [nightly] })))).toBe(modelHash(spec));
  });
});
