/** The PostgreSQL connection pools of a process: the application role's, and the spec reader's. */
import pg from 'pg';
import type { PostgresConfig, SpecSqlConfig } from './config';
import { postgresConnection } from './postgresTls';

/**
 * node-pg's options for one of Kerf's database URLs, with its TLS parameters (sslmode, sslrootcert,
 * sslcert, sslkey) as libpq means them (platform/postgresTls.ts). Every pool and client on a
 * configured URL is made from this.
 */
export function postgresClientConfig(url: string): pg.ClientConfig {
  const { connectionString, ssl } = postgresConnection(url);
  return { connectionString, ...(ssl !== undefined && { ssl }) };
}

/**
 * Opens a pool on Kerf's database. The caller owns it and ends it on shutdown.
 *
 * @param config the `postgres` part of Kerf's configuration (its `url`: the application role), or
 *   any `{ url }`, e.g. `{ url: config.postgres.ownerUrl }` for migrations
 * @param options pool size and the name shown in `pg_stat_activity`
 */
export function createPool(
  config: Pick<PostgresConfig, 'url'>,
  options: { max?: number; applicationName?: string } = {},
): pg.Pool {
  return new pg.Pool({
    ...postgresClientConfig(config.url),
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'kerf',
    connectionTimeoutMillis: 10_000,
  });
}

/**
 * Opens the pool that runs the SQL of pipeline specs, as the reader role (`readerUrl`). Every
 * connection starts read-only and with a statement timeout, so even a query that escaped the
 * read-only transaction of its caller could neither write nor run for ever; the caller still opens
 * its own READ ONLY transaction and sends the query through the extended protocol.
 *
 * @param config `readerUrl` of the `postgres` part
 * @param specSql the statement timeout spec SQL gets
 */
export function createReaderPool(
  config: Pick<PostgresConfig, 'readerUrl'>,
  specSql: Pick<SpecSqlConfig, 'statementTimeoutMs'>,
  options: { max?: number; applicationName?: string } = {},
): pg.Pool {
  const timeoutMs = Math.max(1, Math.round(specSql.statementTimeoutMs));
  return new pg.Pool({
    ...postgresClientConfig(config.readerUrl),
    max: options.max ?? 2,
    application_name: options.applicationName ?? 'kerf-spec-reader',
    connectionTimeoutMillis: 10_000,
    statement_timeout: timeoutMs,
    // A reader that stops talking mid-transaction must not hold its snapshot (and locks) for ever.
    idle_in_transaction_session_timeout: Math.max(timeoutMs, 60_000),
    options: '-c default_transaction_read_only=on',
  });
}

/**
 * A query sent through the extended protocol (Parse, Bind, Execute) even without parameters, so
 * PostgreSQL itself refuses a text holding more than one statement ("cannot insert multiple
 * commands into a prepared statement"). node-pg reads `queryMode`; its type definitions lack it.
 */
export function singleStatement(text: string): pg.QueryConfig {
  const query = { text, queryMode: 'extended' };
  return query as pg.QueryConfig;
}

/**
 * Runs `work` in one transaction on a client of its own: committed when `work` resolves, rolled back
 * when it throws (and the error passed on). A client whose rollback failed is discarded, not reused.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  } finally {
    client.release(broken);
  }
}
