/** The PostgreSQL connection pool shared by a process. */
import pg from 'pg';
import type { PostgresConfig } from './config';

/**
 * Opens a pool on Kerf's database. The caller owns it and ends it on shutdown.
 *
 * @param config the `postgres` part of Kerf's configuration
 * @param options pool size and the name shown in `pg_stat_activity`
 */
export function createPool(
  config: Pick<PostgresConfig, 'url'>,
  options: { max?: number; applicationName?: string } = {},
): pg.Pool {
  return new pg.Pool({
    connectionString: config.url,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'kerf',
    connectionTimeoutMillis: 10_000,
  });
}
