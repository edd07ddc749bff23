/**
 * Content-addressed versions: the same model definition on the same data snapshot is the same
 * version, so a retried activity or a second run of an unchanged pipeline finds the version instead
 * of adding one; any change to the spec fields that make the model (`modelHash`, parameters
 * included) or to the data makes the next version number. A spec that differs only in the other
 * fields finds the version; its caller records the difference as a revision (`specRevisions.ts`).
 */
import type pg from 'pg';
import type { TaskKind } from '../ml/model';
import { appendAudit } from './audit';
import { RegistryError } from './errors';
import { checkText, checkToken } from './inputs';
import { toJsonObjectText } from './json';
import { ensureModel } from './models';
import { inTransaction } from './sql';
import type { VersionRecord } from './types';
import { VERSION_COLUMNS, versionFromRow, versionLabel, type VersionRow } from './versions';

export interface ResolveVersionInput {
  /** The pipeline's kebab-case name; the model is registered with the first version. */
  model: string;
  /** The pipeline's task; a model keeps the task it was registered with. */
  task: TaskKind;
  /** The pipeline's description, stored when the model is registered. */
  description?: string;
  /** Hash of the validated pipeline spec. */
  specHash: string;
  /** Hash of its model fields (`modelHash`); it must cover the trainer parameters. */
  modelHash: string;
  /** Hash of the data snapshot the version trains on. */
  snapshotHash: string;
  /** The lifecycle run's workflow id. */
  runId: string;
  /** The trainer parameters as the spec resolved them (plain JSON). */
  params: Record<string, unknown>;
  /** The code that trains it: a git commit or a package version. */
  codeVersion: string;
}

export interface ResolvedVersion {
  version: VersionRecord;
  /**
   * True when this call registered the version. False when it existed: look at its status and
   * `runId` to decide whether to train (status `training` of another run, or `failed`) or reuse it.
   */
  created: boolean;
}

/**
 * Finds the version of (model, model hash, snapshot hash) or registers the next one, as status
 * `training`, with a `version-created` audit row. Concurrent calls for the same pair get one version:
 * the model's row is locked while the number is allocated.
 *
 * @throws RegistryError (`conflict`) when the model has another task, or the same spec hash was
 *   recorded with other parameters (the spec hash must cover them)
 */
export async function resolveVersion(pool: pg.Pool, input: ResolveVersionInput): Promise<ResolvedVersion> {
  checkToken(input.specHash, 'specHash');
  checkToken(input.modelHash, 'modelHash');
  checkToken(input.snapshotHash, 'snapshotHash');
  checkToken(input.runId, 'runId');
  checkText(input.codeVersion, 'codeVersion', 'which code trains the model, e.g. a git commit');
  const params = toJsonObjectText(input.params, 'params');
  return inTransaction(pool, async (client) => {
    await ensureModel(client, { name: input.model, task: input.task, description: input.description });
    // Versions made before model hashes have their spec hash as one: the same spec finds them too.
    const { rows: existing } = await client.query<VersionRow & { same_params: boolean }>(
      `SELECT ${VERSION_COLUMNS}, params = $4::jsonb AS same_params FROM registry.versions
       WHERE model = $1 AND snapshot_hash = $3 AND (model_hash = $2 OR spec_hash = $5)
       ORDER BY (model_hash = $2) DESC, version LIMIT 1`,
      [input.model, input.modelHash, input.snapshotHash, params, input.specHash],
    );
    const found = existing[0];
    if (found) {
      if (!found.same_params) {
        throw new RegistryError(
          'conflict',
          `${versionLabel(found.model, found.version)} has model hash ${input.modelHash} with other parameters ` +
            `(${JSON.stringify(found.params)}): the model hash must cover the trainer parameters; hash the resolved spec`,
        );
      }
      return { version: versionFromRow(found), created: false };
    }
    const { rows } = await client.query<VersionRow>(
      `INSERT INTO registry.versions (model, version, spec_hash, model_hash, snapshot_hash, run_id, params, code_version)
       SELECT $1, coalesce(max(version), 0) + 1, $2, $7, $3, $4, $5::jsonb, $6 FROM registry.versions WHERE model = $1
       RETURNING ${VERSION_COLUMNS}`,
      [
        input.model,
        input.specHash,
        input.snapshotHash,
        input.runId,
        params,
        input.codeVersion,
        input.modelHash,
      ],
    );
    const version = versionFromRow(rows[0] as VersionRow);
    await appendAudit(client, {
      actor: `run:${input.runId}`,
      action: 'version-created',
      model: version.model,
      version: version.version,
      details: {
        specHash: version.specHash,
        modelHash: version.modelHash,
        snapshotHash: version.snapshotHash,
        codeVersion: version.codeVersion,
        params: version.params,
      },
    });
    return { version, created: true };
  });
}
