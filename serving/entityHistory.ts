/**
 * Serving's entity history for a version with history features: the built table the version was
 * trained on (pinned by hash in its signed manifest, checked again here), plus the events that
 * arrived since its latest time, read from the model's labelled predictions (a prediction whose
 * outcome came back is a row the shop now knows in full). Refreshed with the registry poll; a
 * refresh that fails keeps the history it had.
 */
import type pg from 'pg';
import type { FeatureBuildHistory } from '../lifecycle/features/build';
import { EntityHistory, type LaterEvent } from '../lifecycle/features/history';
import { loadSnapshot } from '../lifecycle/ingest';
import { sha256Hex } from '../lifecycle/manifest';
import type { Column } from '../ml/table';
import type { ObjectStore } from '../platform/objectStore';

/** The most later events read at a refresh (the latest ones by time): bounds memory and the query. */
export const MAX_LATER_EVENTS = 200_000;

/** Why a version's entity history could not be loaded. */
export class EntityHistoryError extends Error {
  override readonly name = 'EntityHistoryError';

  /** @param tampered the built table's bytes are not those the manifest pins */
  constructor(
    message: string,
    readonly tampered: boolean,
  ) {
    super(message);
  }
}

/** A version's entity history, swapped whole at each refresh. */
export class ServedHistory {
  constructor(
    private readonly model: string,
    private readonly definition: FeatureBuildHistory,
    private readonly base: EntityHistory,
    public current: EntityHistory,
  ) {}

  /** Reads the events after the built table's latest time again and swaps them in. */
  async refresh(pool: pg.Pool): Promise<void> {
    const later = await laterEvents(pool, this.model, this.definition.timeColumn, this.base.tableLatest);
    this.current = this.base.withLaterEvents(later);
  }
}

/**
 * Loads a version's entity history: its built table, checked against the pinned hash, and the
 * events after it.
 *
 * @throws EntityHistoryError when the table is not the pinned one or cannot be read as one
 */
export async function loadServedHistory(
  deps: { pool: pg.Pool; objectStore: Pick<ObjectStore, 'get'> },
  model: string,
  definition: FeatureBuildHistory,
  table: { key: string; hash: string },
): Promise<ServedHistory> {
  const bytes = await deps.objectStore.get(table.key);
  const actual = sha256Hex(bytes);
  if (actual !== table.hash) {
    throw new EntityHistoryError(
      `its built table ${table.key} hashes to ${actual}, not to the ${table.hash} the manifest pins: the history was altered, do not serve it`,
      true,
    );
  }
  let base: EntityHistory;
  try {
    const loaded = await loadSnapshot({ get: () => Promise.resolve(bytes) }, table.key);
    const columns = new Map<string, Column>(loaded.table.columns.map((column) => [column.name, column]));
    if (loaded.time)
      columns.set(loaded.time.name, { kind: 'numeric', name: loaded.time.name, values: loaded.time.values });
    base = EntityHistory.fromColumns(
      definition.features,
      columns,
      loaded.table.rowCount,
      definition.timeColumn,
      definition.target,
    );
  } catch (error) {
    throw new EntityHistoryError(
      `its built table ${table.key} cannot be read as an entity history (${error instanceof Error ? error.message : String(error)}): retrain it`,
      false,
    );
  }
  const served = new ServedHistory(model, definition, base, base);
  await served.refresh(deps.pool);
  return served;
}

/**
 * The model's labelled predictions (any version, never a shadow's) whose row time is after
 * `after`, oldest first, at most MAX_LATER_EVENTS of the latest. The time is read from the logged
 * inputs only where it is a JSON number, so no logged value can make the query fail.
 */
async function laterEvents(
  pool: pg.Pool,
  model: string,
  timeColumn: string,
  after: number,
): Promise<LaterEvent[]> {
  const { rows } = await pool.query<{ inputs: Record<string, unknown>; actual: number | string | null }>(
    `SELECT inputs, coalesce(to_jsonb(actual_value), to_jsonb(actual_label)) AS actual
     FROM (
       SELECT inputs, actual_value, actual_label, prediction_id,
              CASE WHEN jsonb_typeof(inputs -> $2) = 'number' THEN (inputs ->> $2)::float8 END AS at
       FROM serving.labelled_predictions
       WHERE model = $1 AND alias <> 'shadow'
     ) labelled
     WHERE at > $3
     ORDER BY at DESC, prediction_id DESC
     LIMIT $4`,
    [model, timeColumn, Number.isFinite(after) ? after : -1e300, MAX_LATER_EVENTS],
  );
  return rows.reverse();
}
