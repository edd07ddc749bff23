/**
 * A spec's scheduled batch scorings (`scoring`): queries whose rows the production version scores on
 * a schedule into a result table, e.g. re-pricing the open quotes every night. Deploy sets one Temporal
 * Schedule per entry (`scoring-<model>-<name>`); each run pins the production version at its start.
 * They do not change the model, so editing them makes no new version.
 */
import { z } from 'zod';
import { between, cronProblem, selectQuery, strictObject } from './syntax';

/** The most scheduled scorings a spec may hold. */
export const MAX_SCORING_JOBS = 20;

/** Rows a scoring run scores per chunk unless its entry says otherwise. */
export const DEFAULT_CHUNK_ROWS = 100_000;

/** The fewest and most rows one chunk may hold. */
export const MIN_CHUNK_ROWS = 100;
export const MAX_CHUNK_ROWS = 5_000_000;

export const scoringJobSchema = strictObject({
  /** Names the job and its schedule (`scoring-<model>-<name>`): kebab-case. */
  name: z
    .string()
    .max(40, 'must be at most 40 characters')
    .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'must be kebab-case: lower-case letters and digits joined by "-"'),
  /**
   * A read-only SELECT over the shop's tables that returns the columns the production version takes
   * and the columns that identify a row (every other column, e.g. `quote_id`). It runs as the spec
   * reader, once per run. A string, or a list of its lines.
   */
  query: selectQuery,
  /** The result table, in schema `scoring`: `open_quote_prices` or `scoring.open_quote_prices`. */
  into: z
    .string()
    .regex(
      /^(scoring\.)?[a-z_][a-z0-9_]{0,62}$/,
      'must be a table name in schema scoring: lower-case letters, digits and _, e.g. open_quote_prices',
    ),
  /** When it runs: a 5-field cron expression (UTC), e.g. `0 3 * * *` for every night at 03:00. */
  schedule: z.string().superRefine((value, ctx) => {
    const problem = cronProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  /**
   * Rows per chunk: a chunk's rows are scored and written in one transaction, and a run killed
   * mid-way goes on from the last chunk it finished.
   * @default 100000
   */
  chunkRows: between(MIN_CHUNK_ROWS, MAX_CHUNK_ROWS, { integer: true }).optional(),
});

export type ScoringJob = z.output<typeof scoringJobSchema>;

export const scoringSchema = z
  .array(scoringJobSchema)
  .max(MAX_SCORING_JOBS, `must hold at most ${MAX_SCORING_JOBS} scheduled scorings`)
  .superRefine((jobs, ctx) => {
    const seen = new Set<string>();
    jobs.forEach((job, index) => {
      if (seen.has(job.name)) {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'name'],
          message: `"${job.name}" is used twice: each scheduled scoring needs a name of its own`,
        });
      }
      seen.add(job.name);
    });
  });
