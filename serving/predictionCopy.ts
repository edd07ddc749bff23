/**
 * The prediction log's quick way into `serving.predictions`: a batch as one `COPY ... FROM STDIN`
 * (text format), each row's line made ahead, between requests (`copyLine`). COPY takes rows about
 * twice as fast as an INSERT of arrays, so the log keeps up with serving; it cannot skip a row that
 * is already there (a batch written again after a lost answer), which the log's INSERT ... ON
 * CONFLICT DO NOTHING does when COPY refuses a batch.
 */
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

const COPY_SQL = `COPY serving.predictions
  (prediction_id, model, version, alias, key, inputs, output, warnings, served_at, shadow_of) FROM STDIN`;

const NULL = '\\N';
const SPECIAL = /[\\\n\r\t]/;
const SPECIALS = /[\\\n\r\t]/g;
const ESCAPED: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** A value as COPY's text format reads it: backslash, newline, carriage return and tab escaped. */
function field(value: string | null): string {
  if (value === null) return NULL;
  return SPECIAL.test(value) ? value.replace(SPECIALS, (char) => ESCAPED[char] as string) : value;
}

/** One row's values, in `COPY_SQL`'s column order (text and JSON already free of NUL). */
export interface CopyRow {
  predictionId: string;
  model: string;
  version: number;
  alias: string;
  key: string | null;
  inputs: string;
  output: string;
  warnings: string;
  servedAt: string;
  shadowOf: string | null;
}

/** A row's line of COPY text, newline included. */
export function copyLine(row: CopyRow): string {
  return (
    `${field(row.predictionId)}\t${field(row.model)}\t${row.version}\t${field(row.alias)}\t` +
    `${field(row.key)}\t${field(row.inputs)}\t${field(row.output)}\t${field(row.warnings)}\t` +
    `${field(row.servedAt)}\t${field(row.shadowOf)}\n`
  );
}

/**
 * Writes the lines in one COPY, in one statement: all of them or none.
 *
 * @throws PostgreSQL's error (a refused row fails the whole batch) or the connection's
 */
export async function copyPredictions(pool: pg.Pool, lines: readonly string[]): Promise<void> {
  const client = await pool.connect();
  let failure: unknown;
  try {
    const stream = client.query(copyFrom(COPY_SQL));
    await new Promise<void>((resolve, reject) => {
      stream.once('finish', resolve);
      stream.once('error', reject);
      stream.end(Buffer.from(lines.join(''), 'utf8'));
    });
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    // PostgreSQL's refusal leaves the connection usable; anything else may not have.
    const code = (failure as { code?: unknown } | undefined)?.code;
    const refused = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
    client.release(failure !== undefined && !refused ? (failure as Error) : undefined);
  }
}
