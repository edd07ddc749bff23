/** Transactions and row locks shared by the registry's modules. */
import type pg from 'pg';
import { RegistryError } from './errors';

/** A pool, or a client inside a transaction: reads work on either. */
export type Queryable = pg.Pool | pg.PoolClient;

export { inTransaction } from '../platform/database';

/**
 * Locks a model's row until the transaction ends, so version numbering and alias moves of one model
 * happen one at a time. `NO KEY UPDATE` leaves inserts of rows that reference the model unblocked.
 *
 * @returns the model's task
 * @throws RegistryError (`not-found`) when the model was never registered
 */
export function lockModel(client: pg.PoolClient, model: string): Promise<{ task: string }> {
  return readOne<{ task: string }>(
    client,
    'SELECT task FROM registry.models WHERE name = $1 FOR NO KEY UPDATE',
    [model],
    `Model ${model} is not in the registry: a lifecycle run registers it with its first version (resolveVersion)`,
  );
}

/**
 * The first row `sql` returns, for a lookup by key.
 *
 * @param notFound the message when there is none: what is missing and what to do about it
 * @throws RegistryError (`not-found`) when the query returns no row
 */
export async function readOne<Row extends pg.QueryResultRow>(
  db: Queryable,
  sql: string,
  params: readonly unknown[],
  notFound: string,
): Promise<Row> {
  const { rows } = await db.query<Row>(sql, [...params]);
  const row = rows[0];
  if (!row) throw new RegistryError('not-found', notFound);
  return row;
}
