/**
 * A result table, `scoring.<name>`: made by the first run that writes to it and recorded in
 * `batch_scoring.result_tables` with what it holds (the model, the key columns and their types, a
 * value or a label), so every later run into it is checked against that before it scores a row.
 * Each run's rows carry its number: `PRIMARY KEY (run, <keys>)` lets no run write a key twice.
 */
import pg from 'pg';
import type { KeyColumn } from './query';
import { ScoringQueryError } from './query';
import { resultTableSql } from './names';

/** What a result table holds. */
export interface ResultTableShape {
  name: string;
  model: string;
  keyColumns: KeyColumn[];
  /** `value` for a regression's prediction, `label` for a classifier's label and probabilities. */
  output: 'value' | 'label';
}

/** The result table's columns: run, keys, prediction, version, prediction id, scored_at. */
function tableDefinition(shape: ResultTableShape): string {
  const keys = shape.keyColumns.map((key) => `${pg.escapeIdentifier(key.name)} ${key.type} NOT NULL`);
  const prediction =
    shape.output === 'value'
      ? ['prediction double precision NOT NULL']
      : ['label text NOT NULL', 'probabilities double precision[] NOT NULL'];
  const primaryKey = ['run', ...shape.keyColumns.map((key) => pg.escapeIdentifier(key.name))].join(', ');
  return [
    'run bigint NOT NULL',
    ...keys,
    ...prediction,
    'version integer NOT NULL',
    'prediction_id uuid NOT NULL',
    'scored_at timestamptz NOT NULL',
    `PRIMARY KEY (${primaryKey})`,
  ].join(', ');
}

const describeKeys = (keys: readonly KeyColumn[]) => keys.map((key) => `${key.name} ${key.type}`).join(', ');

/**
 * Makes the result table when it is new, or checks that it holds what this run writes.
 *
 * @param client an application-role connection inside the caller's transaction
 * @throws ScoringQueryError when the table holds another model's predictions, other key columns, or
 *   values where this run writes labels (or the other way round)
 */
export async function ensureResultTable(client: pg.PoolClient, shape: ResultTableShape): Promise<void> {
  // The catalog row first: two runs making the same table meet here, and the second waits.
  await client.query(
    `INSERT INTO batch_scoring.result_tables (name, model, key_columns, output) VALUES ($1, $2, $3::jsonb, $4)
     ON CONFLICT (name) DO NOTHING`,
    [shape.name, shape.model, JSON.stringify(shape.keyColumns), shape.output],
  );
  const { rows } = await client.query<{ model: string; key_columns: KeyColumn[]; output: string }>(
    'SELECT model, key_columns, output FROM batch_scoring.result_tables WHERE name = $1',
    [shape.name],
  );
  const recorded = rows[0];
  if (!recorded) throw new Error(`the result table ${shape.name} was not recorded`);
  const where = `scoring.${shape.name}`;
  if (recorded.model !== shape.model) {
    throw new ScoringQueryError(
      `into: ${where} holds predictions of ${recorded.model}, not ${shape.model}: write to another table`,
    );
  }
  if (describeKeys(recorded.key_columns) !== describeKeys(shape.keyColumns)) {
    throw new ScoringQueryError(
      `into: ${where} is keyed by (${describeKeys(recorded.key_columns)}), but the query returns the key (${describeKeys(shape.keyColumns)}): return the same key columns, or write to another table`,
    );
  }
  if (recorded.output !== shape.output) {
    throw new ScoringQueryError(
      `into: ${where} holds ${recorded.output === 'value' ? 'values' : 'labels'}, but this version predicts ${shape.output === 'value' ? 'values' : 'labels'}: write to another table`,
    );
  }
  const table = resultTableSql(shape.name);
  const { rows: existing } = await client.query<{ found: boolean }>(
    'SELECT to_regclass($1) IS NOT NULL AS found',
    [table],
  );
  if (existing[0]?.found) return;
  await client.query(`CREATE TABLE ${table} (${tableDefinition(shape)})`);
  // Owned by the group role, so every application login may write to it, not only the one that made it.
  await client.query(`ALTER TABLE ${table} OWNER TO kerf_app`);
  const order = shape.output === 'label' ? "; probabilities in the order of the run's class_labels" : '';
  await client.query(
    `COMMENT ON TABLE ${table} IS ${pg.escapeLiteral(
      `Batch scoring results of ${shape.model}: one row per key per run (batch_scoring.runs)${order}.`,
    )}`,
  );
}
