/**
 * The prediction log's month partitions (`infra/migrations/000016_prediction_retention.sql`): the
 * partitions of this month and the months ahead are made before rows arrive, rows the DEFAULT
 * partition caught move into their month, and with a retention whole months older than it are
 * dropped. PostgreSQL's `serving.maintain_prediction_partitions` does the work as the owner role;
 * the application role may only call it, and every drop is audited there.
 */
import type pg from 'pg';

/** The months made ahead of this one, so a month's partition exists long before its first row. */
export const PREDICTION_MONTHS_AHEAD = 3;

/** One thing done (or, in a dry run, to do) to the prediction log's partitions. */
export interface PartitionAction {
  /**
   * - `create`: a month's partition made (`rows`: the rows moved in from the default partition);
   * - `expire`: rows of the default partition older than the retention deleted;
   * - `drop`: a month older than the retention dropped with its rows.
   */
  action: 'create' | 'expire' | 'drop';
  /** The partition, e.g. `predictions_2025_06` (schema `serving`). */
  partition: string;
  /** Where the month starts; null for `expire` (everything before `to`). */
  from: Date | null;
  /** Where the month ends, or for `expire` the retention's cut-off. */
  to: Date;
  rows: number;
}

export interface PartitionMaintenance {
  /**
   * Months the log keeps; null keeps everything (serving at start only makes partitions ahead).
   */
  retentionMonths: number | null;
  /** Who maintains, for the audit rows of drops: a person's name or `run:<workflow id>`. */
  actor: string;
  /** Only say what would be done. */
  dryRun: boolean;
  /** @default PREDICTION_MONTHS_AHEAD */
  monthsAhead?: number;
}

interface ActionRow {
  action: PartitionAction['action'];
  partition_name: string;
  range_from: Date | null;
  range_to: Date;
  row_count: string;
}

/**
 * Makes the month partitions ahead, moves caught rows into their month and, with a retention, drops
 * whole months older than it; with `dryRun`, only lists what that would do.
 *
 * @returns what was (or would be) done, expired rows first, then created, then dropped partitions
 */
export async function maintainPredictionPartitions(
  db: Pick<pg.Pool, 'query'>,
  options: PartitionMaintenance,
): Promise<PartitionAction[]> {
  const { rows } = await db.query<ActionRow>(
    'SELECT * FROM serving.maintain_prediction_partitions($1, $2, $3, $4)',
    [options.monthsAhead ?? PREDICTION_MONTHS_AHEAD, options.retentionMonths, options.actor, options.dryRun],
  );
  return rows.map((row) => ({
    action: row.action,
    partition: row.partition_name,
    from: row.range_from,
    to: row.range_to,
    rows: Number(row.row_count),
  }));
}

/** One line for a person: what was (or would be) done to a partition, and why. */
export function partitionActionLine(
  action: PartitionAction,
  options: { dryRun: boolean; retentionMonths: number | null },
): string {
  const month = (date: Date) => date.toISOString().slice(0, 7);
  const rows = `${action.rows} row${action.rows === 1 ? '' : 's'}`;
  const older = `older than ${options.retentionMonths ?? '?'} months`;
  switch (action.action) {
    case 'drop':
      return `${options.dryRun ? 'would drop' : 'dropped'} serving.${action.partition} (${action.from ? month(action.from) : '?'}, ${rows}): the whole month is ${older}`;
    case 'expire':
      return `${options.dryRun ? 'would delete' : 'deleted'} ${rows} of serving.${action.partition} from before ${action.to.toISOString()}: ${older}`;
    case 'create':
      return `${options.dryRun ? 'would make' : 'made'} serving.${action.partition} (${action.from ? month(action.from) : '?'})${action.rows > 0 ? `, moving ${rows} in from serving.predictions_default` : ''}`;
  }
}
