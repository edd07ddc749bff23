/** What activities need from the worker that runs them; tests hand in their own. */
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import type { ModelSigningKey } from '../lifecycle/modelSigningKey';
import type { SigningKey } from '../lifecycle/signing';
import type { KerfConfig } from '../platform/config';
import type { ObjectStore } from '../platform/objectStore';

export interface ActivityDeps {
  /** The application role's pool: registry, serving, monitoring. */
  pool: pg.Pool;
  /** The spec reader role's pool (`createReaderPool`): the SQL of pipeline specs runs only here. */
  readerPool: pg.Pool;
  objectStore: ObjectStore;
  /** The key model manifests are signed with; its public half is recorded in the registry. */
  signingKey: SigningKey;
  /** The ECDSA key of the OpenSSF model-signing signature (`model.sig`) others check without Kerf. */
  modelSigningKey: ModelSigningKey;
  /** The code that trains, recorded with every version: a git commit or the package version. */
  codeVersion: string;
  /**
   * A Temporal client and the worker's task queues: deploy sets schedules on the light one, the
   * nightly check starts runs whose training goes to the heavy one.
   */
  temporal: { client: Client; taskQueue: string; heavyTaskQueue: string };
  /** Where the pipeline specs live (the nightly check compares them with production). */
  pipelinesDir: string;
  /** Where announcements are posted, signed (`KerfConfig.webhooks`); no URLs: the log only. */
  webhooks: KerfConfig['webhooks'];
  /**
   * What the nightly retention keeps (`KerfConfig.retention`: KERF_PREDICTION_RETENTION_MONTHS,
   * KERF_GC_AFTER_DAYS).
   * @default DEFAULT_RETENTION (12 months, 30 days)
   */
  retention?: KerfConfig['retention'];
}
