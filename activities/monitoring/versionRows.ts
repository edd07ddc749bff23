/**
 * The prediction log's rows the nightly check sets versions side by side on: each answering
 * alias's labelled predictions (canary against production), and the requests a shadow scored beside
 * production, with their outcomes where booked. Only the outputs and outcomes are read, never the
 * inputs: the comparisons need nothing else.
 */
import type pg from 'pg';
import type { LabelledShadowPair, ShadowPair } from '../../monitoring/shadow';
import type { LabelledOutput } from '../../monitoring/versionErrors';

/** Which rows: one version under one alias, served in (since, to]. */
export interface ServedBy {
  model: string;
  alias: 'production' | 'canary';
  version: number;
  since: Date;
  to: Date;
}

interface LabelledRow {
  output: unknown;
  actual_value: number | null;
  actual_label: string | null;
}

/** The labelled predictions one version answered under one alias. */
export async function labelledOutputs(pool: pg.Pool, rows: ServedBy): Promise<LabelledOutput[]> {
  const { rows: found } = await pool.query<LabelledRow>(
    `SELECT output, actual_value, actual_label FROM serving.labelled_predictions
     WHERE model = $1 AND alias = $2 AND version = $3 AND served_at > $4 AND served_at <= $5`,
    [rows.model, rows.alias, rows.version, rows.since, rows.to],
  );
  return found.map((row) => ({
    output: row.output,
    actualValue: row.actual_value,
    actualLabel: row.actual_label,
  }));
}

/** The requests a shadow scored beside one production version. */
export interface ShadowedBy {
  model: string;
  shadowVersion: number;
  productionVersion: number;
  since: Date;
  to: Date;
}

/** Every request both scored, and those of them whose outcome is booked. */
export async function shadowPairs(
  pool: pg.Pool,
  rows: ShadowedBy,
): Promise<{ pairs: ShadowPair[]; labelled: LabelledShadowPair[] }> {
  const parameters = [rows.model, rows.shadowVersion, rows.productionVersion, rows.since, rows.to];
  const pairs = await pool.query<ShadowPair>(
    `SELECT p.output AS production, s.output AS shadow
     FROM serving.predictions s JOIN serving.predictions p ON p.prediction_id = s.shadow_of
     WHERE s.model = $1 AND s.alias = 'shadow' AND s.version = $2
       AND p.model = $1 AND p.alias = 'production' AND p.version = $3
       AND s.served_at > $4 AND s.served_at <= $5`,
    parameters,
  );
  // The view pairs each outcome with the shadow's score of the answered row (answered_by).
  const labelled = await pool.query<{ production: unknown; shadow: unknown } & Omit<LabelledRow, 'output'>>(
    `SELECT p.output AS production, l.output AS shadow, l.actual_value, l.actual_label
     FROM serving.labelled_predictions l JOIN serving.predictions p ON p.prediction_id = l.answered_by
     WHERE l.model = $1 AND l.alias = 'shadow' AND l.version = $2
       AND p.model = $1 AND p.alias = 'production' AND p.version = $3
       AND l.served_at > $4 AND l.served_at <= $5`,
    parameters,
  );
  return {
    pairs: pairs.rows,
    labelled: labelled.rows.map((row) => ({
      production: row.production,
      shadow: row.shadow,
      actualValue: row.actual_value,
      actualLabel: row.actual_label,
    })),
  };
}
