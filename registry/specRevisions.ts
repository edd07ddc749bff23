/**
 * Spec revisions: edits to the spec fields that do not change the model (description, segments,
 * gates, approval, deploy, monitoring, outcomes) recorded against the version they apply to, so
 * they take effect without retraining. A version's current spec is its latest revision's, or the
 * one that made it. Revisions are added, never changed, each with an audit row.
 */
import type pg from 'pg';
import { appendAudit } from './audit';
import { checkModelName, checkText, checkToken, checkVersionNumber } from './inputs';
import { inTransaction, type Queryable } from './sql';

/** One revision of a version's spec. */
export interface SpecRevision {
  model: string;
  version: number;
  /** 1, 2, ... per version, in the order they were recorded. */
  revision: number;
  specHash: string;
  /** The spec it replaced: the version's own, or the previous revision's. */
  previousSpecHash: string;
  /** The top-level fields that changed. */
  fields: string[];
  revisedBy: string;
  revisedAt: Date;
}

interface RevisionRow {
  model: string;
  version: number;
  revision: number;
  spec_hash: string;
  previous_spec_hash: string;
  fields: string[];
  revised_by: string;
  revised_at: Date;
}

const REVISION_COLUMNS =
  'model, version, revision, spec_hash, previous_spec_hash, fields, revised_by, revised_at';

function revisionFromRow(row: RevisionRow): SpecRevision {
  return {
    model: row.model,
    version: row.version,
    revision: row.revision,
    specHash: row.spec_hash,
    previousSpecHash: row.previous_spec_hash,
    fields: row.fields,
    revisedBy: row.revised_by,
    revisedAt: row.revised_at,
  };
}

/** The revisions of a version, oldest first. */
export async function listSpecRevisions(
  db: Queryable,
  model: string,
  version: number,
): Promise<SpecRevision[]> {
  const { rows } = await db.query<RevisionRow>(
    `SELECT ${REVISION_COLUMNS} FROM registry.spec_revisions WHERE model = $1 AND version = $2 ORDER BY revision`,
    [model, version],
  );
  return rows.map(revisionFromRow);
}

/**
 * The hash of a version's current spec: its latest revision's, or the one that made it.
 *
 * @throws RegistryError (`not-found`) via the caller's version lookup when the version is unknown
 */
export async function currentSpecHash(db: Queryable, model: string, version: number): Promise<string> {
  const { rows } = await db.query<{ spec_hash: string }>(
    `SELECT coalesce(
       (SELECT spec_hash FROM registry.spec_revisions WHERE model = $1 AND version = $2
        ORDER BY revision DESC LIMIT 1),
       (SELECT spec_hash FROM registry.versions WHERE model = $1 AND version = $2)) AS spec_hash`,
    [model, version],
  );
  const hash = rows[0]?.spec_hash;
  if (!hash) throw new Error(`${model} v${version} is not registered`);
  return hash;
}

export interface SpecRevisionInput {
  model: string;
  version: number;
  /** The revised spec's hash (stored at `specs/<hash>.json`). */
  specHash: string;
  /** The hash of the spec it revises; recorded only while it is still the version's current one. */
  previousSpecHash: string;
  fields: readonly string[];
  /** Who revised it: `run:<workflow id>`, `kerf-nightly`, or a person. */
  actor: string;
  /** The revised spec's description, which becomes the model's when `fields` has it. */
  description?: string;
}

/**
 * Records a revision of a version's spec, with a `spec-revised` audit row, when the version's
 * current spec is still `previousSpecHash` (so a retried call, or one that lost a race to another
 * revision, records nothing). A revised description is also the model's description.
 *
 * @returns the revision recorded, or undefined when the current spec was not `previousSpecHash`
 */
export async function recordSpecRevision(
  pool: pg.Pool,
  input: SpecRevisionInput,
): Promise<SpecRevision | undefined> {
  checkModelName(input.model);
  checkVersionNumber(input.version);
  checkToken(input.specHash, 'specHash');
  checkToken(input.previousSpecHash, 'previousSpecHash');
  checkText(input.actor, 'actor', 'who revised the spec');
  return inTransaction(pool, async (client) => {
    // One revision at a time per version: the version's row is the lock.
    await client.query('SELECT 1 FROM registry.versions WHERE model = $1 AND version = $2 FOR UPDATE', [
      input.model,
      input.version,
    ]);
    const current = await currentSpecHash(client, input.model, input.version);
    if (current !== input.previousSpecHash || current === input.specHash) return undefined;
    const { rows } = await client.query<RevisionRow>(
      `INSERT INTO registry.spec_revisions (model, version, revision, spec_hash, previous_spec_hash, fields, revised_by)
       SELECT $1, $2, coalesce(max(revision), 0) + 1, $3, $4, $5::jsonb, $6
       FROM registry.spec_revisions WHERE model = $1 AND version = $2
       RETURNING ${REVISION_COLUMNS}`,
      [
        input.model,
        input.version,
        input.specHash,
        input.previousSpecHash,
        JSON.stringify(input.fields),
        input.actor,
      ],
    );
    const revision = revisionFromRow(rows[0] as RevisionRow);
    if (input.description !== undefined && input.fields.includes('description')) {
      await client.query('UPDATE registry.models SET description = $2 WHERE name = $1', [
        input.model,
        input.description,
      ]);
    }
    await appendAudit(client, {
      actor: input.actor,
      action: 'spec-revised',
      model: input.model,
      version: input.version,
      details: {
        revision: revision.revision,
        specHash: revision.specHash,
        previousSpecHash: revision.previousSpecHash,
        fields: revision.fields,
      },
    });
    return revision;
  });
}
