/** Models: one per pipeline, registered by the first lifecycle run and listed for people. */
import type pg from 'pg';
import type { TaskKind } from '../ml/model';
import { TableColumns } from './columns';
import { RegistryError } from './errors';
import { checkModelName } from './inputs';
import { lockModel, type Queryable, readOne } from './sql';
import type { ModelRecord, ModelSummary } from './types';

const TASKS: readonly TaskKind[] = ['regression', 'binary', 'multiclass'];

interface ModelRow {
  name: string;
  task: TaskKind;
  description: string | null;
  created_at: Date;
}

const MODEL_COLUMNS = new TableColumns<ModelRow>(['name', 'task', 'description', 'created_at']);

/**
 * Registers the model if it is new, then locks its row for the rest of the transaction.
 *
 * @throws RegistryError (`conflict`) when the model exists with another task
 */
export async function ensureModel(
  client: pg.PoolClient,
  model: { name: string; task: TaskKind; description?: string },
): Promise<void> {
  checkModelName(model.name);
  if (!TASKS.includes(model.task)) {
    throw new RegistryError(
      'invalid-input',
      `task ${JSON.stringify(model.task)} of model ${model.name} is not one of: ${TASKS.join(', ')}`,
    );
  }
  // Concurrent first runs both insert; ON CONFLICT makes the second wait for the first and skip.
  await client.query(
    `INSERT INTO registry.models (name, task, description) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`,
    [model.name, model.task, model.description ?? null],
  );
  const { task } = await lockModel(client, model.name);
  if (task !== model.task) {
    throw new RegistryError(
      'conflict',
      `Model ${model.name} is registered for ${task}, not ${model.task}: a pipeline keeps its task; ` +
        'give a pipeline that predicts something else a new name',
    );
  }
}

/** @throws RegistryError (`not-found`) */
export async function getModel(db: Queryable, name: string): Promise<ModelRecord> {
  checkModelName(name);
  const row = await readOne<ModelRow>(
    db,
    `SELECT ${MODEL_COLUMNS.sql} FROM registry.models WHERE name = $1`,
    [name],
    `Model ${name} is not in the registry: check the pipeline name, or run its lifecycle to register it`,
  );
  return MODEL_COLUMNS.record(row);
}

/** Every model with its latest and production version, by name. */
export async function listModels(db: Queryable): Promise<ModelSummary[]> {
  const { rows } = await db.query<
    ModelRow & { latest_version: number | null; production_version: number | null }
  >(
    `SELECT m.name, m.task, m.description, m.created_at,
            (SELECT max(v.version) FROM registry.versions v WHERE v.model = m.name) AS latest_version,
            (SELECT a.version FROM registry.aliases a WHERE a.model = m.name AND a.alias = 'production')
              AS production_version
     FROM registry.models m ORDER BY m.name`,
  );
  return rows.map((row) => ({
    ...MODEL_COLUMNS.record(row),
    latestVersion: row.latest_version,
    productionVersion: row.production_version,
  }));
}
