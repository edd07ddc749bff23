/**
 * A batch scoring's query, run once: its rows staged in a table of the run's own
 * (`batch_scoring.rows_<run>`), numbered 1..n in the order they came, so that chunks of them can be
 * scored by number however often an activity is retried.
 *
 * The query is hostile text. It runs on the spec reader's pool (the shop's tables, never Kerf's
 * own), in a read-only transaction, under the reader's statement timeout, and is first sent as
 * `SELECT * FROM (<query>) AS source LIMIT 0` through the extended protocol, which refuses more than
 * one statement. Only then are its rows copied out, with COPY in its binary format: COPY travels by
 * the simple protocol, but its text is the same query inside the same parentheses, followed by
 * bytes that close no string, comment or quoted name, so it holds exactly the tokens that were
 * checked (no `;` among them) and is one statement too. The rows go from the reader's connection
 * to the application role's as bytes, never decoded here.
 */
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { MAX_QUERY_CHARS, selectQueryProblem } from '../../lifecycle/spec/syntax';
import type { Feature } from '../../ml/model';
import { singleStatement } from '../../platform/database';
import { errorMessage } from '../errors';
import { KERF_COLUMNS } from './names';

/** A query that cannot be scored, with what to change; running it again cannot help. */
export class ScoringQueryError extends Error {
  override readonly name = 'ScoringQueryError';
}

/** A key column of the query: its name and PostgreSQL's name of its type (`bigint`, `text`). */
export interface KeyColumn {
  name: string;
  type: string;
}

/** What a staged query returned. */
export interface StagedRows {
  keyColumns: KeyColumn[];
  /** The version's inputs in the order staged (and read back). */
  features: Feature[];
  /** Rows staged, numbered 1..rows. */
  rows: number;
}

/** The column that numbers a run's staged rows. */
export const STAGED_ROW_COLUMN = 'kerf_row';

const NUMBER_TYPES = new Set([20, 21, 23, 700, 701, 1700]);
const TIME_TYPES = new Set([1082, 1114, 1184]);
/** The first oid of a type made by a user: those may live in a schema the application cannot use. */
const FIRST_USER_OID = 16_384;
/** The most characters of PostgreSQL's message a refusal quotes. */
const MAX_SHOWN_CHARS = 500;
/** How often progress is reported while rows are copied, in bytes. */
const PROGRESS_BYTES = 8 * 1024 * 1024;

/** Why a query text is not one a batch scoring runs, or undefined (PostgreSQL still has its say). */
export function scoringQueryProblem(sql: string): string | undefined {
  if (sql.length > MAX_QUERY_CHARS) {
    return `query: must be at most ${MAX_QUERY_CHARS} characters, not ${sql.length}: move long parts into a view`;
  }
  if (sql.includes('\u0000')) return 'query: must not contain NUL characters';
  const problem = selectQueryProblem(sql);
  return problem === undefined ? undefined : `query: ${problem}`;
}

/** The query as a subquery; newlines keep a trailing "-- comment" from swallowing the parenthesis. */
function asSource(sql: string): string {
  return `(\n${sql.replace(/;(?:\s|--[^\n]*(?:\n|$))*$/, '')}\n) AS source`;
}

export interface StageOptions {
  /** The spec reader's pool (`createReaderPool`); its connection is closed afterwards, never reused. */
  readerPool: pg.Pool;
  /** An application-role connection inside a transaction the caller commits: the staging table is made on it. */
  writer: pg.PoolClient;
  sql: string;
  /** The columns the version takes (`LoadedVersion.features`). */
  features: readonly Feature[];
  /** The staging table, for SQL (`stagingTableSql`). */
  stagingTable: string;
  /** Called every few megabytes with the bytes copied so far (an activity heartbeats from it). */
  onProgress?: (bytes: number) => void;
}

/**
 * Runs the query once as the reader and stages its rows: the key columns as they are, the version's
 * numeric inputs as float8 (dates and timestamps as epoch milliseconds, as a snapshot holds them) and
 * its categorical inputs as text.
 *
 * @throws ScoringQueryError when PostgreSQL refuses the query (not one read-only statement, a table
 *   the reader may not read, past its time), a column the version takes is missing or of a type
 *   that does not fit, no other column identifies the rows, a key column clashes with a column Kerf
 *   writes, or two rows have the same key; a lost connection is thrown as it is, to be retried
 */
export async function stageQueryRows(options: StageOptions): Promise<StagedRows> {
  const problem = scoringQueryProblem(options.sql);
  if (problem) throw new ScoringQueryError(problem);
  const reader = await options.readerPool.connect();
  try {
    await reader.query('BEGIN READ ONLY');
    // Keep the reader pool's timeout; give a pool without one five minutes.
    await reader.query(
      "SELECT set_config('statement_timeout', '300000', true) WHERE current_setting('statement_timeout') IN ('0', '0ms')",
    );
    const { fields } = await refused(
      reader.query(singleStatement(`SELECT * FROM ${asSource(options.sql)} LIMIT 0`)),
    );
    const columns = await planColumns(reader, fields, options.features);
    await createStagingTable(options.writer, options.stagingTable, columns);
    const staged = columns.keys.map((key) => pg.escapeIdentifier(key.name));
    const selected = [
      ...staged.map((name) => `source.${name}`),
      ...columns.features.map((feature) => feature.expression),
    ];
    const into = [...staged, ...columns.features.map((feature) => pg.escapeIdentifier(feature.name))];
    let bytes = 0;
    let reported = 0;
    const counted = new Transform({
      transform(piece: Buffer, _encoding, done) {
        bytes += piece.length;
        if (bytes - reported >= PROGRESS_BYTES) {
          reported = bytes;
          options.onProgress?.(bytes);
        }
        done(null, piece);
      },
    });
    const source = reader.query(
      copyTo(`COPY (SELECT ${selected.join(', ')} FROM ${asSource(options.sql)}) TO STDOUT (FORMAT binary)`),
    );
    const target = options.writer.query(
      copyFrom(`COPY ${options.stagingTable} (${into.join(', ')}) FROM STDIN (FORMAT binary)`),
    );
    await refused(pipeline(source, counted, target));
    options.onProgress?.(bytes);
    await indexStagedRows(options.writer, options.stagingTable, staged);
    return {
      keyColumns: columns.keys,
      features: columns.features.map(({ name, kind }) =>
        kind === 'numeric' ? { name, kind } : { name, kind, categories: [] },
      ),
      rows: target.rowCount,
    };
  } finally {
    // Nothing to commit in a read-only read; rolling back also undoes any set_config the query made.
    await reader.query('ROLLBACK').catch(() => undefined);
    reader.release(true);
  }
}

interface PlannedColumns {
  keys: KeyColumn[];
  features: { name: string; kind: Feature['kind']; expression: string }[];
}

/** Splits the query's columns into the version's inputs and the keys, checking each. */
async function planColumns(
  reader: pg.PoolClient,
  fields: readonly pg.FieldDef[],
  features: readonly Feature[],
): Promise<PlannedColumns> {
  const names = fields.map((field) => field.name);
  const twice = names.find((name, index) => names.indexOf(name) !== index);
  if (twice !== undefined) {
    throw new ScoringQueryError(
      `query: returns the column ${JSON.stringify(twice)} twice: name each column once (AS ...)`,
    );
  }
  const byName = new Map(fields.map((field) => [field.name, field]));
  const listed = names.join(', ') || 'none';
  const missing = features.filter((feature) => !byName.has(feature.name)).map((feature) => feature.name);
  if (missing.length > 0) {
    throw new ScoringQueryError(
      `query: returns no ${missing.join(', ')}, which the version takes (it returns ${listed}): select every input of the model`,
    );
  }
  const planned = features.map((feature) => {
    const field = byName.get(feature.name) as pg.FieldDef;
    const column = `source.${pg.escapeIdentifier(feature.name)}`;
    if (feature.kind === 'categorical') {
      return { name: feature.name, kind: feature.kind, expression: `(${column})::text` };
    }
    if (NUMBER_TYPES.has(field.dataTypeID)) {
      return { name: feature.name, kind: feature.kind, expression: `(${column})::float8` };
    }
    if (TIME_TYPES.has(field.dataTypeID)) {
      // As a snapshot holds a time: epoch milliseconds, a timestamp without time zone read as UTC.
      return {
        name: feature.name,
        kind: feature.kind,
        expression: `(extract(epoch FROM ${column}) * 1000)::float8`,
      };
    }
    throw new ScoringQueryError(
      `query: returns ${feature.name} as a value that is not a number, but the version takes it as a number: cast it in the query (::float8)`,
    );
  });
  const taken = new Set(features.map((feature) => feature.name));
  const keyFields = fields.filter((field) => !taken.has(field.name));
  if (keyFields.length === 0) {
    throw new ScoringQueryError(
      `query: returns only the version's inputs (${listed}): also select the column(s) that identify a row, such as quote_id, to find each prediction again`,
    );
  }
  const clash = keyFields.find((field) => KERF_COLUMNS.includes(field.name));
  if (clash) {
    throw new ScoringQueryError(
      `query: the key column ${clash.name} has the name of a column Kerf writes (${KERF_COLUMNS.join(', ')}): rename it in the query (AS ...)`,
    );
  }
  const userType = keyFields.find((field) => field.dataTypeID >= FIRST_USER_OID);
  if (userType) {
    throw new ScoringQueryError(
      `query: the key column ${userType.name} has a type of the database's own: cast it to text or a number in the query`,
    );
  }
  const { rows } = await reader.query<{ type: string }>(
    'SELECT format_type(oid, typmod) AS type FROM unnest($1::oid[], $2::int[]) AS key(oid, typmod)',
    [keyFields.map((field) => field.dataTypeID), keyFields.map((field) => field.dataTypeModifier)],
  );
  const keys = keyFields.map((field, index) => ({ name: field.name, type: rows[index]?.type ?? 'text' }));
  return { keys, features: planned };
}

/** The staging table: the row number, the key columns with the query's types, the inputs. */
async function createStagingTable(
  writer: pg.PoolClient,
  stagingTable: string,
  columns: PlannedColumns,
): Promise<void> {
  const keys = columns.keys.map((key) => `${pg.escapeIdentifier(key.name)} ${key.type}`);
  const inputs = columns.features.map(
    (feature) => `${pg.escapeIdentifier(feature.name)} ${feature.kind === 'numeric' ? 'float8' : 'text'}`,
  );
  // Unlogged: the rows can be read again from their source; a database crash empties the table,
  // which a chunk notices (it finds fewer rows than it was given) and stops the run. The numbers
  // come from a sequence only this COPY draws from, so they run 1..n without a gap; cached, so
  // drawing them costs next to nothing.
  await writer.query(
    `CREATE UNLOGGED TABLE ${stagingTable} (${STAGED_ROW_COLUMN} bigint GENERATED ALWAYS AS IDENTITY (CACHE 100000), ${[...keys, ...inputs].join(', ')})`,
  );
}

/** Indexes the staged rows by number, and refuses a key that comes twice before anything is scored. */
async function indexStagedRows(
  writer: pg.PoolClient,
  stagingTable: string,
  keyColumns: readonly string[],
): Promise<void> {
  // The numbers rise with the table's blocks: a block range index finds a chunk's rows for little.
  await writer.query(`CREATE INDEX ON ${stagingTable} USING brin (${STAGED_ROW_COLUMN})`);
  try {
    await writer.query(`CREATE UNIQUE INDEX ON ${stagingTable} (${keyColumns.join(', ')})`);
  } catch (error) {
    if (!(error instanceof pg.DatabaseError)) throw error;
    if (error.code === '23505') {
      throw new ScoringQueryError(
        `query: returns the same key for more than one row (${shown(error.detail ?? error.message)}): the key columns (${keyColumns.join(', ')}) must identify each row`,
      );
    }
    if (error.code === '42704' || error.code === '42883') {
      throw new ScoringQueryError(
        `query: a key column (${keyColumns.join(', ')}) has a type rows cannot be told apart by (${shown(error.message)}): cast it to text or a number in the query`,
      );
    }
    throw error;
  }
}

function shown(message: string): string {
  return message.length > MAX_SHOWN_CHARS ? `${message.slice(0, MAX_SHOWN_CHARS)}...` : message;
}

/**
 * SQLSTATE classes that say the query or its data is wrong: 22 data exception, 42 syntax or access
 * rule, 0A not supported, 2F/38/39 errors inside functions, 25 a write in a read-only transaction,
 * 3F a missing schema, 57014 a statement stopped by its timeout.
 */
const REFUSALS = /^(22|42|0A|2F|38|39|25|3F|57014)/;

function refusalHint(error: pg.DatabaseError): string {
  switch (error.code) {
    case '25006':
    case '25001':
      return 'the query must only read';
    case '57014':
      return 'it ran past its statement timeout: narrow it, or raise KERF_SPEC_SQL_TIMEOUT_SECONDS';
    case '42501':
      return (
        "a scoring query runs as the spec reader, which reads the shop's and imported tables (KERF_SPEC_SCHEMAS), " +
        "never Kerf's own (registry, serving, monitoring, access, scoring)"
      );
    case '42P01':
      return 'load the table it reads first, or fix the query';
    default:
      return /multiple commands/.test(error.message)
        ? 'it must be one SELECT statement: remove the ";" and what follows'
        : 'fix the query';
  }
}

/** A statement whose refusal by PostgreSQL becomes a ScoringQueryError; anything else is thrown as it is. */
async function refused<T>(statement: Promise<T>): Promise<T> {
  try {
    return await statement;
  } catch (error) {
    if (!(error instanceof pg.DatabaseError) || !error.code || !REFUSALS.test(error.code)) throw error;
    throw new ScoringQueryError(
      `query: PostgreSQL refused it (${shown(errorMessage(error))}): ${refusalHint(error)}`,
      { cause: error },
    );
  }
}
