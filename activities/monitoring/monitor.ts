/**
 * The nightly check of one production model: the predictions served since the last check, and the
 * outcomes known for them, against the version's reference profile; the report is kept as a row in
 * `monitoring.reports` and a page in S3.
 */
import { log } from '@temporalio/activity';
import type pg from 'pg';
import { categoricalFromLabels, Table } from '../../ml/table';
import { compileFeatureBuild, derivedNames } from '../../lifecycle/features/build';
import { derivedColumnsFromRows } from '../../lifecycle/features/rows';
import { readVerifiedArtifact } from '../lifecycle/verifiedArtifact';
import { tableFromRows } from '../../ml/rows';
import type { ReferenceProfile } from '../../monitoring/reference';
import { monitorWindow, type WindowOutcomes } from '../../monitoring/monitor';
import { classIdsOf, classProbabilities } from '../../monitoring/classOutcomes';
import type { MonitoringReport } from '../../monitoring/report';
import type { CanaryJudgement } from '../../monitoring/canary';
import { withDeploymentComparisons } from '../../monitoring/deployments';
import { renderMonitoringPage } from '../../monitoring/page';
import type { PipelineSpec } from '../../lifecycle/spec';
import { getAlias } from '../../registry';
import type { NightlyCheck } from '../../workflows/monitoringTypes';
import type { ActivityDeps } from '../deps';
import { checkForecastModel } from './forecastCheck';
import { artifactKeys } from '../../registry/artifactKeys';
import { compareShadowWith } from './deployments';
import { currentSpecOf } from './versionSpec';

interface ServedRow {
  inputs: Record<string, unknown>;
  output: { value?: number; label?: string; probabilities?: Record<string, number> };
}

interface LabelledRow extends ServedRow {
  actual_value: number | null;
  actual_label: string | null;
}

/**
 * The served predictions as the monitoring computations take them: regression values; a
 * classifier's probabilities by its class labels (binary: of class 1; multiclass: rows x classes).
 */
function servedPredictions(
  rows: readonly ServedRow[],
  task: ReferenceProfile['task'],
  classLabels: readonly string[],
): Float64Array {
  return task === 'regression'
    ? Float64Array.from(rows, (row) => row.output.value ?? Number.NaN)
    : classProbabilities(
        rows.map((row) => row.output),
        classLabels,
        task,
      );
}

/** The booked outcomes: values for regression, class ids (and the labels the model does not know) otherwise. */
function bookedOutcomes(
  rows: readonly LabelledRow[],
  task: ReferenceProfile['task'],
  classLabels: readonly string[],
): Pick<WindowOutcomes, 'y' | 'unknownLabels'> {
  if (task === 'regression') return { y: Float64Array.from(rows, (row) => row.actual_value ?? Number.NaN) };
  const labels = rows.map(
    (row) => row.actual_label ?? (row.actual_value === null ? null : String(row.actual_value)),
  );
  const { y, unknown } = classIdsOf(labels, classLabels);
  return { y, unknownLabels: unknown };
}

async function windowStart(pool: pg.Pool, model: string, deployedAt: Date): Promise<Date> {
  const { rows } = await pool.query<{ window_to: Date }>(
    'SELECT window_to FROM monitoring.reports WHERE model = $1 ORDER BY window_to DESC LIMIT 1',
    [model],
  );
  const last = rows[0]?.window_to;
  return last && last > deployedAt ? last : deployedAt;
}

export const reportPageKey = (model: string, runId: string) => `monitoring/${model}/${runId}.html`;

export function createMonitorActivities({ pool, readerPool, objectStore }: ActivityDeps) {
  /** The served predictions of the window, and their outcomes, against the version's reference profile. */
  async function servedWindowReport(
    model: string,
    version: number,
    spec: PipelineSpec,
    from: Date,
    to: Date,
  ): Promise<MonitoringReport> {
    const profile = await objectStore.getJson<ReferenceProfile>(artifactKeys(model, version).reference);
    // Derived features are not logged (a request carries their inputs): computed as serving did.
    const derived = derivedNames(spec);
    const logged = spec.features.filter((feature) => !derived.has(feature.name));
    const kinds = Object.fromEntries(logged.map((feature) => [feature.name, feature.kind] as const));
    const pick = (inputs: Record<string, unknown>) =>
      Object.fromEntries(logged.map((feature) => [feature.name, inputs[feature.name] ?? null]));

    const served = await pool.query<ServedRow>(
      `SELECT inputs, output FROM serving.predictions
       WHERE model = $1 AND version = $2 AND alias = 'production' AND served_at > $3 AND served_at <= $4
       ORDER BY served_at, prediction_id`,
      [model, version, from, to],
    );
    const labelled = await pool.query<LabelledRow>(
      `SELECT inputs, output, actual_value, actual_label FROM serving.labelled_predictions
       WHERE model = $1 AND version = $2 AND alias = 'production' AND served_at > $3 AND served_at <= $4
       ORDER BY served_at, prediction_id`,
      [model, version, from, to],
    );
    const loggedInputs = tableFromRows(
      served.rows.map((row) => pick(row.inputs)),
      kinds,
    );
    const inputs =
      derived.size === 0
        ? loggedInputs
        : await withDerivedInputs(
            model,
            version,
            loggedInputs,
            served.rows.map((row) => row.inputs),
          );
    const task = profile.task;
    const classLabels =
      task === 'regression' ? [] : await classLabelsOf(model, version, profile, served.rows);
    const outcomes: WindowOutcomes | undefined =
      labelled.rows.length === 0
        ? undefined
        : {
            ...bookedOutcomes(labelled.rows, task, classLabels),
            prediction: servedPredictions(labelled.rows, task, classLabels),
            segments: Object.fromEntries(
              spec.segments.map((name) => [
                name,
                categoricalFromLabels(
                  name,
                  labelled.rows.map((row) => {
                    const value = row.inputs[name];
                    return typeof value === 'string' ||
                      typeof value === 'number' ||
                      typeof value === 'boolean'
                      ? String(value)
                      : null;
                  }),
                ),
              ]),
            ),
          };
    return monitorWindow({
      model,
      version,
      profile,
      spec,
      from: from.toISOString(),
      to: to.toISOString(),
      inputs,
      predictions: servedPredictions(served.rows, task, classLabels),
      outcomes,
    });
  }

  /**
   * A classifier's class labels, index = class id: the profile's; for a binary model whose profile
   * predates them, the signed manifest's; failing both, the labels of the served probabilities in
   * sorted order (as training orders labels that are not numbers).
   */
  async function classLabelsOf(
    model: string,
    version: number,
    profile: ReferenceProfile,
    served: readonly ServedRow[],
  ): Promise<string[]> {
    if (profile.classes) return profile.classes.labels;
    if (profile.prediction.kind === 'classes') return profile.prediction.classLabels;
    const { manifest } = await readVerifiedArtifact(pool, objectStore, model, version);
    if (manifest.target.classLabels) return manifest.target.classLabels;
    return Object.keys(served[0]?.output.probabilities ?? {}).sort();
  }

  /** The window's inputs with the version's derived features, by its signed, verified definition. */
  async function withDerivedInputs(
    model: string,
    version: number,
    logged: Table,
    rows: Record<string, unknown>[],
  ): Promise<Table> {
    const { manifest } = await readVerifiedArtifact(pool, objectStore, model, version);
    if (!manifest.featureBuild) return logged;
    const { version: buildVersion, derived, inputs } = manifest.featureBuild;
    const build = compileFeatureBuild({ version: buildVersion, derived, inputs });
    // An empty window has no columns to add to.
    return rows.length === 0
      ? logged
      : new Table([...logged.columns, ...derivedColumnsFromRows(build, rows)]);
  }

  return {
    /**
     * The night's report of the production version, with the versions served beside it: the
     * canary's judgement `checkCanary` made (passed in by the workflow) and the shadow's comparison.
     */
    async checkProductionModel(input: {
      model: string;
      runId: string;
      canary?: CanaryJudgement | null;
    }): Promise<NightlyCheck> {
      const production = await getAlias(pool, input.model, 'production');
      if (!production) {
        return {
          model: input.model,
          version: null,
          predictions: 0,
          labelled: 0,
          alarms: [],
          stale: false,
          staleReasons: [],
        };
      }
      const version = production.version;
      const spec = await currentSpecOf({ pool, objectStore }, input.model, version);
      const to = new Date();
      const from = await windowStart(pool, input.model, production.updatedAt);
      const report =
        spec.task === 'forecast'
          ? await checkForecastModel(
              { pool, readerPool, objectStore },
              { model: input.model, version, spec, from, to },
            )
          : withDeploymentComparisons(await servedWindowReport(input.model, version, spec, from, to), {
              canary: input.canary ?? null,
              shadow: await compareShadowWith({ pool, objectStore }, production, to),
            });
      const htmlKey = reportPageKey(input.model, input.runId);
      await objectStore.put(htmlKey, await renderMonitoringPage(report), 'text/html; charset=utf-8');
      const { rows } = await pool.query<{ report_id: string }>(
        `INSERT INTO monitoring.reports
           (model, version, run_id, window_from, window_to, predictions, labelled, stale, alarms, report, html_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (run_id, model) DO UPDATE SET report = EXCLUDED.report, alarms = EXCLUDED.alarms,
           stale = EXCLUDED.stale, html_key = EXCLUDED.html_key
         RETURNING report_id`,
        [
          input.model,
          version,
          input.runId,
          from,
          to,
          report.window.predictions,
          report.window.labelled,
          report.stale,
          JSON.stringify(report.alarms),
          JSON.stringify(report),
          htmlKey,
        ],
      );
      log.info('nightly check', {
        model: input.model,
        version,
        alarms: report.alarms.length,
        stale: report.stale,
      });
      return {
        model: input.model,
        version,
        reportId: Number(rows[0]?.report_id),
        htmlKey,
        predictions: report.window.predictions,
        labelled: report.window.labelled,
        alarms: report.alarms,
        stale: report.stale,
        staleReasons: report.staleReasons,
        ...(report.shadow ? { shadow: report.shadow } : {}),
      };
    },
  };
}
