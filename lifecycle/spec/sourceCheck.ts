/**
 * Checks a pipeline spec against its data source: every column the spec names (target, features,
 * segments, time column, those the derived features' expressions read and the history features'
 * values and keys) exists in the table or query result and has a type that fits its role.
 *
 * The source is run with `LIMIT 0` in a read-only transaction, so only its column names and types
 * come back; the check itself (`checkSpecAgainstSource`) is pure. What keeps a hostile query from
 * writing is PostgreSQL, not the spec's lexical check: the caller hands in the reader role's pool
 * (`createReaderPool`: SELECT on the data schemas only), the transaction is READ ONLY with a
 * statement timeout, and the query goes through the extended protocol, where PostgreSQL refuses
 * more than one statement, so a `COMMIT` smuggled into it cannot end the transaction.
 */
import type { Pool, PoolClient } from 'pg';
import { singleStatement } from '../../platform/database';
import { derivedFeatureIssues } from './derivedCheck';
import { builtFeatureNames } from '../features/build';
import { historyFeatureIssues } from './historyCheck';
import { formatPath, PipelineSpecError } from './load';
import type { PipelineSpec } from './schema';
import { modelTaskOf } from './metrics';
import {
  findColumn,
  type SourceColumn,
  type SourceValueKind,
  type SpecIssue,
  typeWords,
} from './sourceColumns';

export type { SourceColumn, SourceValueKind, SpecIssue } from './sourceColumns';

/** A spec that does not fit its source, or a source that cannot be read: one `path: message` line each. */
export class SpecSourceError extends PipelineSpecError {
  constructor(
    readonly issues: readonly SpecIssue[],
    origin?: string,
  ) {
    super(
      issues.map((issue) => `${issue.path}: ${issue.message}`),
      origin,
    );
    this.name = 'SpecSourceError';
    this.message = `Pipeline spec${origin ? ` ${origin}` : ''} does not fit its source:\n${this.problems.join('\n')}`;
  }
}

/**
 * No connection to PostgreSQL for the check (the server is down, or a busy pool had none free within
 * its timeout). Not a `PipelineSpecError`: nothing is wrong with the spec, so a run's activity that
 * meets it is retried by Temporal instead of ending the run as a spec that does not fit its source.
 */
export class SourceConnectionError extends Error {
  override name = 'SourceConnectionError';
}

export interface DescribeSourceOptions {
  /**
   * How long the zero-row query may take before it is cancelled, in milliseconds.
   * @default 15000
   */
  statementTimeoutMs?: number;
}

const DEFAULT_STATEMENT_TIMEOUT_MS = 15_000;

/** Built-in PostgreSQL type OIDs (from `pg_type`) and what they hold. */
const KIND_BY_OID = new Map<number, { kind: SourceValueKind; integer?: true }>([
  [21, { kind: 'number', integer: true }], // int2
  [23, { kind: 'number', integer: true }], // int4
  [20, { kind: 'number', integer: true }], // int8
  [700, { kind: 'number' }], // float4
  [701, { kind: 'number' }], // float8
  [1700, { kind: 'number' }], // numeric
  [16, { kind: 'boolean' }], // bool
  [25, { kind: 'text' }], // text
  [1043, { kind: 'text' }], // varchar
  [1042, { kind: 'text' }], // bpchar
  [19, { kind: 'text' }], // name
  [18, { kind: 'text' }], // "char"
  [1082, { kind: 'time' }], // date
  [1114, { kind: 'time' }], // timestamp
  [1184, { kind: 'time' }], // timestamptz
]);

const TABLE_PART = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The SQL that reads no rows of a source but all its columns. */
function zeroRowQuery(source: PipelineSpec['source']): string {
  if (source.kind === 'table') {
    const parts = source.table.split('.');
    if (parts.length > 2 || !parts.every((part) => TABLE_PART.test(part))) {
      throw new SpecSourceError([
        {
          path: 'source.table',
          message: `"${source.table}" is not a table name such as steel_energy or shop.jobs`,
        },
      ]);
    }
    // Folded to lower case and quoted: the same table an unquoted name means (and import-csv creates).
    const table = parts.map((part) => `"${part.toLowerCase()}"`).join('.');
    return `SELECT * FROM ${table} LIMIT 0`;
  }
  // Newlines around the query so a trailing "-- comment" cannot swallow the closing parenthesis; a
  // trailing ";" (allowed in the spec) would end the statement inside the parentheses.
  const query = source.query.replace(/;(?:\s|--[^\n]*(?:\n|$))*$/, '');
  return `SELECT * FROM (\n${query}\n) AS source LIMIT 0`;
}

/**
 * The SQLSTATE of an error PostgreSQL sent (pg's DatabaseError, which has a severity), if it is one;
 * a socket error such as EPIPE also has a five-letter code but is not PostgreSQL's verdict.
 */
function sqlState(error: unknown): string | undefined {
  if (!(error instanceof Error) || !('code' in error) || !('severity' in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** A source that PostgreSQL refused, as an issue that says what to do. */
function sourceFailure(source: PipelineSpec['source'], error: unknown, timeoutMs: number): SpecIssue {
  const message = error instanceof Error ? error.message : String(error);
  const path = source.kind === 'table' ? 'source.table' : 'source.query';
  const what = source.kind === 'table' ? `table ${source.table}` : 'the query';
  switch (sqlState(error)) {
    case '42P01': // undefined_table
      return {
        path,
        message:
          source.kind === 'table'
            ? `table ${source.table} does not exist in this database (PostgreSQL: ${message}); ` +
              `load it first (\`kerf shop generate\` for the shop's tables, \`kerf import-csv FILE --table ${source.table}\` ` +
              'for a CSV file), or check DATABASE_URL'
            : `the query reads a table that does not exist (PostgreSQL: ${message}); ` +
              "load it first (`kerf shop generate` for the shop's tables, `kerf import-csv FILE --table NAME` " +
              'for a CSV file), or check DATABASE_URL',
      };
    case '3F000': // invalid_schema_name
      return { path, message: `PostgreSQL: ${message}; create the schema and load the table first` };
    case '42501': // insufficient_privilege
      return {
        path,
        message:
          `PostgreSQL: ${message}; spec SQL runs as a reader that may only read the data schemas ` +
          "(KERF_SPEC_SCHEMAS: the shop's and imported tables), not Kerf's own tables nor administrators' " +
          'functions: read a table of the shop or an imported one, or have an administrator grant SELECT on it to kerf_reader',
      };
    case '42601': // syntax_error, which includes "cannot insert multiple commands into a prepared statement"
      return {
        path,
        message: /multiple commands/.test(message)
          ? `must be one SELECT statement, but PostgreSQL found several (${message}); remove the ";" and what follows`
          : `PostgreSQL cannot run ${what}: ${message}; fix it and check again`,
      };
    case '25006': // read_only_sql_transaction
    case '25001': // active_sql_transaction: a try to make the read-only transaction writable
      return { path, message: `must only read, but PostgreSQL says: ${message}` };
    case '57014': // query_canceled (statement_timeout)
      return {
        path,
        message: `${what} did not answer within ${timeoutMs / 1000} s even for zero rows (PostgreSQL: ${message}); simplify it or use a view`,
      };
    default:
      return sqlState(error)
        ? { path, message: `PostgreSQL cannot run ${what}: ${message}; fix it and check again` }
        : { path: 'source', message: `cannot read the source: ${message}` };
  }
}

/**
 * PostgreSQL's type name and kind for each type OID; enums hold labels, so they count as text. (A
 * domain column arrives with its base type's OID, so domains need nothing here.)
 */
async function typesOf(client: PoolClient, oids: number[]): Promise<Map<number, Omit<SourceColumn, 'name'>>> {
  const { rows } = await client.query<{ oid: number; name: string; enum: boolean }>(
    `SELECT oid::int AS oid, pg_catalog.format_type(oid, NULL) AS name, typtype = 'e' AS enum
       FROM pg_catalog.pg_type WHERE oid = ANY($1::oid[])`,
    [oids],
  );
  const types = new Map<number, Omit<SourceColumn, 'name'>>();
  for (const row of rows) {
    const known = KIND_BY_OID.get(row.oid);
    const kind: SourceValueKind = row.enum ? 'text' : (known?.kind ?? 'other');
    types.set(row.oid, { postgresType: row.name, kind, integer: known?.integer ?? false });
  }
  return types;
}

/**
 * The columns of a source with their PostgreSQL types, read by running it for zero rows in a
 * read-only transaction with a statement timeout, as one statement of the extended protocol.
 *
 * @param pool the pool to take one connection from (the caller owns and ends it): the reader
 *   role's (`createReaderPool`), so the query can read only what a spec may read
 * @throws SpecSourceError naming `source` when it cannot be run (missing table, SQL error, timeout),
 *   with PostgreSQL's message and what to do
 * @throws SourceConnectionError when no connection could be had, which a retry may get
 */
export async function describeSource(
  pool: Pool,
  source: PipelineSpec['source'],
  options: DescribeSourceOptions = {},
): Promise<SourceColumn[]> {
  const timeoutMs = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const sql = zeroRowQuery(source);
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new SourceConnectionError(
      `cannot connect to PostgreSQL (${message}); start the stack with \`kerf stack up\` or check DATABASE_URL`,
      { cause: error },
    );
  }
  try {
    await client.query('BEGIN READ ONLY');
    await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(timeoutMs))}`);
    await client.query(
      `SET LOCAL idle_in_transaction_session_timeout = ${Math.max(60_000, Math.round(timeoutMs))}`,
    );
    let fields: { name: string; dataTypeID: number }[];
    try {
      // Extended protocol: one statement only, refused by PostgreSQL itself when there are more.
      fields = (await client.query(singleStatement(sql))).fields;
    } catch (error) {
      throw new SpecSourceError([sourceFailure(source, error, timeoutMs)]);
    }
    const types = await typesOf(client, [...new Set(fields.map((field) => field.dataTypeID))]);
    return fields.map((field) => ({
      name: field.name,
      ...(types.get(field.dataTypeID) ?? {
        postgresType: `type ${field.dataTypeID}`,
        kind: 'other',
        integer: false,
      }),
    }));
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    // Never reused: whatever session state the spec's query set (set_config(..., false)) goes with it.
    client.release(true);
  }
}

/** The fields of a spec that name source columns. */
export type SpecColumns = Pick<
  PipelineSpec,
  'task' | 'source' | 'target' | 'features' | 'segments' | 'timeColumn'
> &
  Partial<Pick<PipelineSpec, 'derived' | 'history'>>;

/**
 * Problems of a spec against its source's columns: unknown names (with a "did you mean"), and types
 * that do not fit: a numeric feature needs numbers; a categorical feature or a classification target
 * needs text, booleans or whole numbers; a regression target needs numbers; the time column needs a
 * date, timestamp or number.
 *
 * @returns the issues in the order target, features, segments, time column, derived features,
 *   history features; empty
 *   when it fits
 */
export function checkSpecAgainstSource(spec: SpecColumns, columns: readonly SourceColumn[]): SpecIssue[] {
  const where = spec.source.kind === 'table' ? `table ${spec.source.table}` : "the query's result";
  const byName = new Map<string, SourceColumn[]>();
  for (const column of columns) byName.set(column.name, [...(byName.get(column.name) ?? []), column]);
  const issues: SpecIssue[] = [];

  /** The column a field names, or undefined after adding the issue of why it cannot be used. */
  const find = (path: PropertyKey[], name: string): SourceColumn | undefined => {
    const found = findColumn(name, byName, columns, where);
    if ('column' in found) return found.column;
    issues.push({ path: formatPath(path), message: found.message });
    return undefined;
  };
  const misfit = (path: PropertyKey[], message: string) => issues.push({ path: formatPath(path), message });
  /** Labels: text, booleans or whole numbers. */
  const holdsLabels = (column: SourceColumn) =>
    column.kind === 'text' || column.kind === 'boolean' || (column.kind === 'number' && column.integer);

  const target = find(['target'], spec.target);
  if (target && modelTaskOf(spec.task) === 'regression' && target.kind !== 'number') {
    misfit(
      ['target'],
      `"${target.name}" is ${typeWords(target)} in ${where}; a ${spec.task} target must be a number column: ` +
        'cast it in a sql source, or use task binary or multiclass if it holds classes',
    );
  } else if (target && modelTaskOf(spec.task) !== 'regression' && !holdsLabels(target)) {
    misfit(
      ['target'],
      `"${target.name}" is ${typeWords(target)} in ${where}; a ${spec.task} target holds classes and must be ` +
        'text, boolean or whole numbers: cast it in a sql source, or use task regression for a quantity',
    );
  }

  const built = builtFeatureNames(spec);
  spec.features.forEach((feature, index) => {
    const path = ['features', index, 'name'];
    // A derived or history feature is built (a number), not read; its definition is checked below.
    if (built.has(feature.name)) return;
    const column = find(path, feature.name);
    if (!column) return;
    if (feature.kind === 'numeric' && column.kind !== 'number') {
      const advice =
        column.kind === 'text' || column.kind === 'boolean'
          ? 'make the feature categorical, or cast the column to a number in a sql source'
          : 'derive a number from it in a sql source (e.g. extract(epoch FROM ...) for a time)';
      misfit(
        path,
        `"${column.name}" is ${typeWords(column)} in ${where}; a numeric feature needs a number column: ${advice}`,
      );
    } else if (feature.kind === 'categorical' && !holdsLabels(column)) {
      const advice =
        column.kind === 'number'
          ? 'make the feature numeric, or round or bin it in a sql source'
          : 'cast it to text in a sql source';
      misfit(
        path,
        `"${column.name}" is ${typeWords(column)} in ${where}; a categorical feature needs text, boolean or whole numbers: ${advice}`,
      );
    }
  });

  spec.segments.forEach((segment, index) => {
    // Its type is checked where it is listed as a feature.
    find(['segments', index], segment);
  });

  if (spec.timeColumn !== undefined) {
    const column = find(['timeColumn'], spec.timeColumn);
    if (column && column.kind !== 'time' && column.kind !== 'number') {
      // Text dates such as "31/01/2018" sort as text, not in time order.
      const advice =
        column.kind === 'text'
          ? `; text does not sort by time: use a sql source that converts it, e.g. ` +
            `SELECT *, to_timestamp("${column.name}", 'DD/MM/YYYY HH24:MI') AS reading_time FROM ..., ` +
            'and name reading_time here'
          : '; use a sql source that converts it';
      misfit(
        ['timeColumn'],
        `"${column.name}" is ${typeWords(column)} in ${where}; the time column must be a date, timestamp or number to order the rows${advice}`,
      );
    }
  }
  if (spec.derived) issues.push(...derivedFeatureIssues(spec.derived, byName, columns, where));
  if (spec.history) issues.push(...historyFeatureIssues(spec.history, spec.target, byName, columns, where));
  return issues;
}

export interface CheckSpecSourceOptions extends DescribeSourceOptions {
  /** Where the spec came from (a file name), for the error message. */
  origin?: string;
}

/**
 * Checks a parsed spec against its source in the database.
 *
 * @returns the source's columns when every column the spec names exists and fits
 * @throws SpecSourceError listing every problem, or naming `source` when it cannot be run
 */
export async function checkSpecSource(
  pool: Pool,
  spec: SpecColumns,
  options: CheckSpecSourceOptions = {},
): Promise<SourceColumn[]> {
  let columns: SourceColumn[];
  try {
    columns = await describeSource(pool, spec.source, options);
  } catch (error) {
    if (error instanceof SpecSourceError && options.origin)
      throw new SpecSourceError(error.issues, options.origin);
    throw error;
  }
  const issues = checkSpecAgainstSource(spec, columns);
  if (issues.length > 0) throw new SpecSourceError(issues, options.origin);
  return columns;
}
