/**
 * Taught categories: until a retrained model knows a new category (titanium), an operator tells Kerf
 * to treat it like a known one (`kerf teach cut-time material_family titanium --like stainless_steel`).
 * Serving applies the mapping and says so in its answer; the audit log records who taught what; a
 * deploy of a version that was trained on the category retires the mapping.
 */
import type pg from 'pg';
import { appendAudit, getAlias } from '../registry';
import type { ReferenceProfile } from './reference';

export interface CategoryMapping {
  mappingId: number;
  model: string;
  column: string;
  unseenValue: string;
  likeValue: string;
  taughtBy: string;
  taughtAt: Date;
}

/** A teaching that cannot be done, with what to do instead. */
export class TeachError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TeachError';
  }
}

interface MappingRow {
  mapping_id: string;
  model: string;
  column_name: string;
  unseen_value: string;
  like_value: string;
  taught_by: string;
  taught_at: Date;
}

const fromRow = (row: MappingRow): CategoryMapping => ({
  mappingId: Number(row.mapping_id),
  model: row.model,
  column: row.column_name,
  unseenValue: row.unseen_value,
  likeValue: row.like_value,
  taughtBy: row.taught_by,
  taughtAt: row.taught_at,
});

/** The mappings in force, for every model or one. */
export async function activeMappings(pool: pg.Pool, model?: string): Promise<CategoryMapping[]> {
  const { rows } = await pool.query<MappingRow>(
    `SELECT mapping_id, model, column_name, unseen_value, like_value, taught_by, taught_at
     FROM monitoring.category_mappings WHERE retired_at IS NULL AND ($1::text IS NULL OR model = $1)
     ORDER BY mapping_id`,
    [model ?? null],
  );
  return rows.map(fromRow);
}

/**
 * Records a mapping after checking it against what production knows: the column is a categorical
 * feature, the value is unknown to it and the `like` value is known.
 *
 * @param reference the production version's reference profile (its training categories)
 */
export async function teachCategory(
  pool: pg.Pool,
  input: { model: string; column: string; unseenValue: string; likeValue: string; taughtBy: string },
  reference: ReferenceProfile,
): Promise<CategoryMapping> {
  const production = await getAlias(pool, input.model, 'production');
  if (!production)
    throw new TeachError(`${input.model} has no production version; there is nothing to teach yet.`);
  const feature = reference.features.find((candidate) => candidate.name === input.column);
  if (!feature) {
    const names = reference.features.map((candidate) => candidate.name).join(', ');
    throw new TeachError(`${input.model} has no feature ${input.column}; its features: ${names}.`);
  }
  if (feature.kind !== 'categorical') {
    throw new TeachError(
      `${input.column} is a numeric feature of ${input.model}; only categories can be taught.`,
    );
  }
  if (feature.categories.includes(input.unseenValue)) {
    throw new TeachError(
      `${input.model} version ${production.version} already knows ${input.column} "${input.unseenValue}"; no mapping is needed.`,
    );
  }
  if (!feature.categories.includes(input.likeValue)) {
    throw new TeachError(
      `"${input.likeValue}" is not a ${input.column} that ${input.model} knows; pick one of: ${feature.categories.join(', ')}.`,
    );
  }
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `UPDATE monitoring.category_mappings SET retired_at = now()
       WHERE model = $1 AND column_name = $2 AND unseen_value = $3 AND retired_at IS NULL`,
      [input.model, input.column, input.unseenValue],
    );
    const { rows } = await client.query<MappingRow>(
      `INSERT INTO monitoring.category_mappings (model, column_name, unseen_value, like_value, taught_by)
       VALUES ($1, $2, $3, $4, $5)
       RETURNING mapping_id, model, column_name, unseen_value, like_value, taught_by, taught_at`,
      [input.model, input.column, input.unseenValue, input.likeValue, input.taughtBy],
    );
    await appendAudit(client, {
      actor: input.taughtBy,
      action: 'category-taught',
      model: input.model,
      version: production.version,
      details: { column: input.column, unseen: input.unseenValue, like: input.likeValue },
    });
    await client.query('COMMIT');
    const row = rows[0];
    if (!row) throw new Error('INSERT ... RETURNING gave no row');
    return fromRow(row);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Retires the mappings whose value the newly deployed version was trained on; returns them. */
export async function retireKnownMappings(
  pool: pg.Pool,
  model: string,
  version: number,
  reference: ReferenceProfile,
  actor: string,
): Promise<CategoryMapping[]> {
  const retired: CategoryMapping[] = [];
  for (const mapping of await activeMappings(pool, model)) {
    const feature = reference.features.find((candidate) => candidate.name === mapping.column);
    if (feature?.kind !== 'categorical' || !feature.categories.includes(mapping.unseenValue)) continue;
    await pool.query(
      'UPDATE monitoring.category_mappings SET retired_at = now(), retired_by_version = $2 WHERE mapping_id = $1',
      [mapping.mappingId, version],
    );
    await appendAudit(pool, {
      actor,
      action: 'category-mapping-retired',
      model,
      version,
      details: {
        column: mapping.column,
        unseen: mapping.unseenValue,
        like: mapping.likeValue,
        taughtBy: mapping.taughtBy,
      },
    });
    retired.push(mapping);
  }
  return retired;
}

/**
 * The mappings in force for serving, per model, never older than `maxAgeMs` (teaching takes effect
 * within that time without a restart). One read at a time, shared by the requests that wait for it;
 * past half that age a request starts the read in the background and answers with the mappings in
 * hand, so under steady traffic no prediction waits on PostgreSQL for them (nor for a promise).
 */
export function mappingsFromRegistry(
  pool: pg.Pool,
  maxAgeMs = 10_000,
): (
  model: string,
) =>
  | ReadonlyMap<string, ReadonlyMap<string, string>>
  | undefined
  | Promise<ReadonlyMap<string, ReadonlyMap<string, string>> | undefined> {
  type ByModel = Map<string, Map<string, Map<string, string>>>;
  let cached: { at: number; byModel: ByModel } | undefined;
  let reading: Promise<ByModel> | undefined;
  const read = (): Promise<ByModel> => {
    reading ??= (async () => {
      const byModel: ByModel = new Map();
      for (const mapping of await activeMappings(pool)) {
        const columns = byModel.get(mapping.model) ?? new Map<string, Map<string, string>>();
        const values = columns.get(mapping.column) ?? new Map<string, string>();
        values.set(mapping.unseenValue, mapping.likeValue);
        columns.set(mapping.column, values);
        byModel.set(mapping.model, columns);
      }
      cached = { at: Date.now(), byModel };
      return byModel;
    })().finally(() => {
      reading = undefined;
    });
    return reading;
  };
  // The mappings in hand are returned as they are, not in a promise: a request needs no turn to wait.
  return (model) => {
    const age = cached ? Date.now() - cached.at : Number.POSITIVE_INFINITY;
    if (!cached || age > maxAgeMs) return read().then((byModel) => byModel.get(model));
    // A failed early read has no caller to tell: the mappings in hand stay until they are too old.
    if (age > maxAgeMs / 2) read().catch(() => undefined);
    return cached.byModel.get(model);
  };
}
