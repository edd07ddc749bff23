/**
 * What the prediction log needs to tell a row PostgreSQL refuses from a database it cannot reach, and
 * to set such a row aside in `serving.prediction_dead_letters` with its reason and a bounded excerpt.
 */
import type pg from 'pg';

/** The longest excerpt of a refused row kept, in characters. */
export const DEAD_LETTER_EXCERPT_LENGTH = 2000;
/** The longest reason kept, in characters. */
const REASON_LENGTH = 500;

/** A prediction row set aside, as `serving.prediction_dead_letters` holds it. */
export interface DeadLetter {
  predictionId: string | null;
  model: string;
  version: number | null;
  reason: string;
  /** The start of the row's JSON. */
  excerpt: string;
}

const INSERT_DEAD_LETTER = `INSERT INTO serving.prediction_dead_letters (prediction_id, model, version, reason, excerpt)
  VALUES ($1, $2, $3, $4, $5)`;

/** Writes one dead letter; throws what PostgreSQL throws. */
export async function writeDeadLetter(pool: pg.Pool, letter: DeadLetter): Promise<void> {
  await pool.query(INSERT_DEAD_LETTER, [
    letter.predictionId,
    cut(letter.model, 200),
    letter.version,
    cut(letter.reason, REASON_LENGTH),
    cut(letter.excerpt, DEAD_LETTER_EXCERPT_LENGTH),
  ]);
}

/**
 * True when PostgreSQL refused the row itself, so writing it again can never succeed: a data
 * exception (class 22, a value it cannot store), an integrity violation (23), or a program limit
 * (54, e.g. jsonb nested past the stack depth). Anything else (no connection, a restart, a missing
 * grant) is the database's state: the rows are kept and written once it is back.
 */
export function isRowRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|54)[0-9A-Z]{3}$/.test(code);
}

/** A reason for the dead-letter table: PostgreSQL's SQLSTATE and message, or the error's text. */
export function refusalReason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return cut(typeof code === 'string' ? `${code}: ${message}` : message, REASON_LENGTH);
}

/** The start of an object's JSON, without NUL characters (a text column refuses them). */
export function excerptOf(value: object): string {
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    text = `(the row cannot be written as JSON: ${error instanceof Error ? error.message : String(error)})`;
  }
  return cut(text, DEAD_LETTER_EXCERPT_LENGTH).replaceAll('\u0000', '\uFFFD');
}

function cut(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 3)}...`;
}
