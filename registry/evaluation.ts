/**
 * Recording what a version is: its artifacts' keys, its test metrics and its gates' verdicts. Each
 * is written once. Recording the same values again changes nothing (a retried activity); different
 * values are refused here with a readable message, and by the database's trigger in any case.
 */
import type pg from 'pg';
import { appendAudit } from './audit';
import { RegistryError } from './errors';
import { checkToken } from './inputs';
import { toJsonObjectText, toJsonText } from './json';
import { inTransaction } from './sql';
import type { VersionRecord } from './types';
import { readVersion, VERSION_COLUMNS, versionFromRow, versionLabel, type VersionRow } from './versions';

export interface EvaluationInput {
  /** Test-set metrics (plain JSON, finite numbers), e.g. `{ rmse: 1.7, mae: 1.1 }`. */
  metrics: Record<string, unknown>;
  /**
   * The gates' verdicts (plain JSON; null or absent: not yet). May follow in a later call; a
   * version needs them before it becomes a candidate.
   */
  gateVerdicts?: unknown;
  artifacts: {
    onnxKey: string;
    manifestKey: string;
    /** The model card; may follow in a later call. */
    cardKey?: string;
  };
  /**
   * Who records it, for the audit log.
   * @default `run:<the version's run id>`
   */
  actor?: string;
}

/** Statuses in which a version may still receive content it does not have yet. */
const OPEN_STATUSES = ['training', 'candidate'];

/**
 * Records a version's artifacts, metrics and gate verdicts, with an `evaluation-recorded` audit row
 * when anything new was written.
 *
 * @throws RegistryError (`conflict`) when a value differs from the one recorded, (`invalid-transition`)
 *   when new content arrives after the version left training and candidacy, (`not-found`)
 */
export async function recordEvaluation(
  pool: pg.Pool,
  model: string,
  version: number,
  evaluation: EvaluationInput,
): Promise<VersionRecord> {
  const { onnxKey, manifestKey, cardKey } = evaluation.artifacts;
  checkToken(onnxKey, 'artifacts.onnxKey');
  checkToken(manifestKey, 'artifacts.manifestKey');
  if (cardKey !== undefined) checkToken(cardKey, 'artifacts.cardKey');
  const metrics = toJsonObjectText(evaluation.metrics, 'metrics');
  // A JSON null would read back as "not recorded", so null means "not given" too.
  const verdicts =
    evaluation.gateVerdicts === undefined || evaluation.gateVerdicts === null
      ? null
      : toJsonText(evaluation.gateVerdicts, 'gateVerdicts');

  return inTransaction(pool, async (client) => {
    const current = await readVersion(client, model, version, { lock: true });
    const label = versionLabel(model, version);
    const { rows: compared } = await client.query<{ metrics_differ: boolean; verdicts_differ: boolean }>(
      `SELECT coalesce(metrics <> $3::jsonb, false) AS metrics_differ,
              coalesce(gate_verdicts <> $4::jsonb, false) AS verdicts_differ
       FROM registry.versions WHERE model = $1 AND version = $2`,
      [model, version, metrics, verdicts],
    );
    const differ = compared[0];
    const changed: string[] = [];
    const { artifacts } = current;
    if (artifacts.onnxKey !== null && artifacts.onnxKey !== onnxKey) changed.push('artifacts.onnxKey');
    if (artifacts.manifestKey !== null && artifacts.manifestKey !== manifestKey)
      changed.push('artifacts.manifestKey');
    if (artifacts.cardKey !== null && cardKey !== undefined && artifacts.cardKey !== cardKey) {
      changed.push('artifacts.cardKey');
    }
    if (differ?.metrics_differ) changed.push('metrics');
    if (differ?.verdicts_differ) changed.push('gateVerdicts');
    if (changed.length > 0) {
      throw new RegistryError(
        'conflict',
        `${label} already has other ${changed.join(', ')} recorded; a version's content never changes: ` +
          'train again (a changed spec or data snapshot makes a new version)',
      );
    }

    const adds =
      artifacts.onnxKey === null ||
      artifacts.manifestKey === null ||
      (artifacts.cardKey === null && cardKey !== undefined) ||
      current.metrics === null ||
      (current.gateVerdicts === null && verdicts !== null);
    if (!adds) return current;
    if (!OPEN_STATUSES.includes(current.status)) {
      throw new RegistryError(
        'invalid-transition',
        `${label} is ${current.status}: its evaluation can only be completed while it is training or a candidate`,
      );
    }

    const { rows } = await client.query<VersionRow>(
      `UPDATE registry.versions SET
         onnx_key = coalesce(onnx_key, $3), manifest_key = coalesce(manifest_key, $4),
         card_key = coalesce(card_key, $5), metrics = coalesce(metrics, $6::jsonb),
         gate_verdicts = coalesce(gate_verdicts, $7::jsonb), evaluated_at = coalesce(evaluated_at, now())
       WHERE model = $1 AND version = $2 RETURNING ${VERSION_COLUMNS}`,
      [model, version, onnxKey, manifestKey, cardKey ?? null, metrics, verdicts],
    );
    const updated = versionFromRow(rows[0] as VersionRow);
    await appendAudit(client, {
      actor: evaluation.actor ?? `run:${current.runId}`,
      action: 'evaluation-recorded',
      model,
      version,
      details: { artifacts: updated.artifacts, metrics: updated.metrics, gateVerdicts: updated.gateVerdicts },
    });
    return updated;
  });
}
