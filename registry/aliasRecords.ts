/** Reading aliases and their history: what serves now, and how it came to. */
import { TableColumns } from './columns';
import { RegistryError } from './errors';
import { checkModelName } from './inputs';
import type { Queryable } from './sql';
import { ALIAS_NAMES, type AliasMove, type AliasName, type AliasRecord } from './types';

export interface AliasRow {
  model: string;
  alias: AliasName;
  version: number;
  traffic_share: number | null;
  updated_at: Date;
  updated_by: string;
}

export const ALIAS_COLUMNS = new TableColumns<AliasRow>([
  'model',
  'alias',
  'version',
  'traffic_share',
  'updated_at',
  'updated_by',
]);

export function checkAliasName(alias: string): asserts alias is AliasName {
  if (!(ALIAS_NAMES as readonly string[]).includes(alias)) {
    throw new RegistryError(
      'invalid-input',
      `alias ${JSON.stringify(alias)} is not an alias: use ${ALIAS_NAMES.join(', ')}`,
    );
  }
}

/** The alias, or undefined when it is not set (nothing deployed under that name). */
export async function getAlias(
  db: Queryable,
  model: string,
  alias: AliasName,
): Promise<AliasRecord | undefined> {
  checkModelName(model);
  checkAliasName(alias);
  const { rows } = await db.query<AliasRow>(
    `SELECT ${ALIAS_COLUMNS.sql} FROM registry.aliases WHERE model = $1 AND alias = $2`,
    [model, alias],
  );
  return rows[0] ? ALIAS_COLUMNS.record(rows[0]) : undefined;
}

/** Every alias of a model that is set. */
export async function listAliases(db: Queryable, model: string): Promise<AliasRecord[]> {
  checkModelName(model);
  return [...(await readAliases(db, model)).values()];
}

/** The moves of a model's aliases (or of one alias), oldest first. */
export async function aliasHistory(db: Queryable, model: string, alias?: AliasName): Promise<AliasMove[]> {
  checkModelName(model);
  if (alias !== undefined) checkAliasName(alias);
  const { rows } = await db.query<{
    id: string;
    model: string;
    alias: AliasName;
    kind: AliasMove['kind'];
    version: number | null;
    previous_version: number | null;
    traffic_share: number | null;
    actor: string;
    reason: string;
    moved_at: Date;
  }>(
    `SELECT id, model, alias, kind, version, previous_version, traffic_share, actor, reason, moved_at
     FROM registry.alias_history WHERE model = $1 AND ($2::text IS NULL OR alias = $2) ORDER BY id`,
    [model, alias ?? null],
  );
  return rows.map((row) => ({
    id: Number(row.id),
    model: row.model,
    alias: row.alias,
    kind: row.kind,
    version: row.version,
    previousVersion: row.previous_version,
    trafficShare: row.traffic_share,
    actor: row.actor,
    reason: row.reason,
    movedAt: row.moved_at,
  }));
}

/** The aliases of a model that are set, by name. */
export async function readAliases(db: Queryable, model: string): Promise<Map<AliasName, AliasRecord>> {
  const { rows } = await db.query<AliasRow>(
    `SELECT ${ALIAS_COLUMNS.sql} FROM registry.aliases WHERE model = $1 ORDER BY alias`,
    [model],
  );
  return new Map(rows.map((row) => [row.alias, ALIAS_COLUMNS.record(row)]));
}
