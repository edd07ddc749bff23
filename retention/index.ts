/**
 * Retention: what Kerf stops keeping. The prediction log keeps `predictionMonths` months (whole
 * month partitions older go, `serving/predictionPartitions.ts`), and the objects of versions that were
 * rejected, superseded or failed `gcAfterDays` ago go from the store (`plan.ts`, `collect.ts`),
 * never those of a version a person approved, never one a kept version uses; what a stopped ingest
 * left in the snapshots' staging folder goes after a day (`staging.ts`). `kerf gc` and the nightly
 * check run it; a dry run only says what would go.
 */
import type pg from 'pg';
import type { RetentionConfig } from '../platform/config';
import { DEFAULT_KEY_PREFIX } from '../lifecycle/ingest';
import { stagingPrefix } from '../lifecycle/ingest/upload';
import type { ObjectStore } from '../platform/objectStore';
import {
  maintainPredictionPartitions,
  type PartitionAction,
  partitionActionLine,
} from '../serving/predictionPartitions';
import { collectPlan } from './collect';
import { modelInventory, registeredModelNames } from './inventory';
import { formatBytes, type Keeping, type ModelPlan, planCollection, type Removal } from './plan';
import { type StagingRemoval, type StagingStore, sweepStaging } from './staging';

export { formatBytes, planCollection } from './plan';
export type { Keeping, ModelInventory, ModelPlan, Removal, VersionFacts } from './plan';
export { STAGING_MAX_AGE_HOURS, type StagingRemoval } from './staging';

export interface RetentionDeps {
  /** The application role's pool. */
  pool: pg.Pool;
  objectStore: Pick<ObjectStore, 'list' | 'getJson' | 'delete'> & StagingStore;
}

export interface RetentionOptions {
  retention: RetentionConfig;
  /** Who runs it: a person's name, or `run:<workflow id>` for the nightly check. */
  actor: string;
  /** Only say what would go. */
  dryRun: boolean;
  /** The models whose objects are collected. @default every model in the registry */
  models?: readonly string[];
  /** Maintain the prediction log's partitions too (they hold every model's predictions). */
  partitions: boolean;
  /** @default new Date() */
  now?: Date;
  /** Called now and then during a long collection (an activity heartbeats). */
  onProgress?: () => void;
}

export interface RetentionReport {
  dryRun: boolean;
  retention: RetentionConfig;
  /** What went (or, in a dry run, would go). */
  removed: Removal[];
  /** What stays that a person might expect to go, and why. */
  kept: Keeping[];
  /** Planned removals left alone because the registry changed meanwhile (never in a dry run). */
  skipped: Keeping[];
  /** The versions whose objects went (or would go), per model. */
  versions: { model: string; version: number }[];
  /** What was (or would be) done to the prediction log's partitions; empty without `partitions`. */
  partitions: PartitionAction[];
  /** Open uploads and objects a stopped ingest left in the snapshots' staging folder. */
  staging: StagingRemoval[];
}

/**
 * Plans and, unless `dryRun`, carries out the retention: the prediction log's partitions first (one
 * statement), then each model's objects.
 *
 * @throws the store's or the database's error; what went before it is recorded and audited
 */
export async function runRetention(deps: RetentionDeps, options: RetentionOptions): Promise<RetentionReport> {
  const now = options.now ?? new Date();
  const partitions = options.partitions
    ? await maintainPredictionPartitions(deps.pool, {
        retentionMonths: options.retention.predictionMonths,
        actor: options.actor,
        dryRun: options.dryRun,
      })
    : [];
  const models = options.models ?? (await registeredModelNames(deps.pool));
  const removed: Removal[] = [];
  const kept: Keeping[] = [];
  const skipped: Keeping[] = [];
  for (const model of models) {
    const plan: ModelPlan = planCollection(await modelInventory(deps.pool, deps.objectStore, model), {
      now,
      afterDays: options.retention.gcAfterDays,
    });
    kept.push(...plan.kept);
    options.onProgress?.();
    if (options.dryRun) {
      removed.push(...plan.removals);
      continue;
    }
    const result = await collectPlan(deps.pool, deps.objectStore, plan, {
      actor: options.actor,
      afterDays: options.retention.gcAfterDays,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    removed.push(...result.removed);
    skipped.push(...result.skipped);
  }
  // Every pipeline's staging when every model is collected (a stopped ingest's upload may be of a
  // model not registered yet), else the named models' own.
  const staging: StagingRemoval[] = [];
  const everyPipeline = stagingPrefix(DEFAULT_KEY_PREFIX);
  for (const prefix of options.models?.map((model) => `${everyPipeline}${model}/`) ?? [everyPipeline]) {
    staging.push(...(await sweepStaging(deps.objectStore, { now, dryRun: options.dryRun, prefix })));
  }
  const versions = new Map<string, { model: string; version: number }>();
  for (const removal of removed) {
    if (removal.version !== null) {
      versions.set(`${removal.model}\u0000${removal.version}`, {
        model: removal.model,
        version: removal.version,
      });
    }
  }
  return {
    dryRun: options.dryRun,
    retention: options.retention,
    removed,
    kept,
    skipped,
    versions: [...versions.values()],
    partitions,
    staging,
  };
}

/** `cut-time v3`, or `cut-time (no version)` for an object no version names. */
function owner(model: string, version: number | null): string {
  return version === null ? `${model} (no version)` : `${model} v${version}`;
}

/**
 * One line per decision, for a person: each object that goes (version, key, bytes, why), each thing
 * kept that might be expected to go, each partition made or dropped, and a total.
 */
export function retentionLines(report: RetentionReport): string[] {
  const verb = report.dryRun ? 'would remove' : 'removed';
  const lines: string[] = [];
  for (const action of report.partitions) {
    lines.push(
      partitionActionLine(action, {
        dryRun: report.dryRun,
        retentionMonths: report.retention.predictionMonths,
      }),
    );
  }
  for (const removal of report.removed) {
    lines.push(
      `${verb} ${owner(removal.model, removal.version)} ${removal.key} (${removal.bytes} bytes): ${removal.why}`,
    );
  }
  for (const removal of report.staging) {
    const size = removal.bytes === null ? 'its parts' : `${removal.bytes} bytes`;
    lines.push(`${verb} staging ${removal.key} (${size}): ${removal.why}`);
  }
  for (const keeping of [...report.kept, ...report.skipped]) {
    lines.push(
      `kept ${owner(keeping.model, keeping.version)}${keeping.key ? ` ${keeping.key}` : ''}: ${keeping.why}`,
    );
  }
  const bytes = report.removed.reduce((sum, removal) => sum + removal.bytes, 0);
  const dropped = report.partitions.filter((action) => action.action === 'drop').length;
  lines.push(
    `${report.dryRun ? 'would remove' : 'removed'} ${report.removed.length} object${report.removed.length === 1 ? '' : 's'} ` +
      `(${formatBytes(bytes)}) of ${report.versions.length} version${report.versions.length === 1 ? '' : 's'}; ` +
      `${report.dryRun ? 'would drop' : 'dropped'} ${dropped} prediction partition${dropped === 1 ? '' : 's'} ` +
      `(predictions kept ${report.retention.predictionMonths} months, rejected and failed versions ${report.retention.gcAfterDays} days)`,
  );
  return lines;
}
