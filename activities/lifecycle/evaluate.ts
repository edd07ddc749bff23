/**
 * The evaluate stage (with the quality gate). The candidate's ONNX file is scored on the test rows with
 * onnxruntime; the production version (the champion) is verified (signature by a trusted key, ONNX
 * SHA-256) and scored on the same rows. A failed gate or a tampered champion rejects the version,
 * writes an audit row saying why, and stops the run.
 */
import { Context, log } from '@temporalio/activity';
import type pg from 'pg';
import { evaluateOnTestSet, scoreChampion } from '../../lifecycle/evaluate';
import { gateRegistry } from '../../lifecycle/gates/registry';
import type { GateVerdict } from '../../lifecycle/gates/verdict';
import { TamperedArtifactError } from '../../lifecycle/manifest';
import type { TaskMetrics } from '../../ml/slices';
import type { PipelineSpec } from '../../lifecycle/spec';
import { appendAudit, getAlias, getVersion, setStatus } from '../../registry';
import type {
  ChampionComparison,
  EvaluationOutcome,
  StageInput,
  StoredCandidate,
} from '../../workflows/lifecycleTypes';
import type { ActivityDeps } from '../deps';
import { stoppingOn, stopRun } from './errors';
import { specOf } from './runSpec';
import { readVerifiedArtifact } from './verifiedArtifact';
import { loadStageTable } from './stageTable';
import { artifactKeys } from '../../registry/artifactKeys';
import { runActor, runIdOf } from './register';
import {
  type BacktestReport,
  evaluateForecast,
  type ForecastEvaluation,
  forecastTableOf,
} from '../../lifecycle/forecast';
import { TrainingError } from '../../lifecycle/train';

/** The test set's targets and predictions, kept for the fairness gate and the model card. */
export interface StoredPredictions {
  testRows: number[];
  y: number[];
  prediction: number[];
  classLabels?: string[];
  /**
   * A forecast: the backtest's points have no snapshot rows; each point's series key values, by
   * key column, for the fairness gate's slices (`y` and `prediction` are then on each series' scale).
   */
  segments?: Record<string, string[]>;
  /** A forecast: the backtest's report, for the model card. */
  backtest?: BacktestReport;
}

/** The finite numbers of a metrics object (nested tables such as a confusion matrix stay out). */
export function metricNumbers(metrics: TaskMetrics | Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(metrics)) {
    if (typeof value === 'number' && Number.isFinite(value)) out[name] = value;
  }
  return out;
}

/**
 * A stage outcome's verdicts: `verdict`, the stage's first gate's (the field runs recorded before the
 * registry carry), and `verdicts`, all of them.
 */
export function stageVerdicts(verdicts: GateVerdict[]): { verdict: GateVerdict; verdicts: GateVerdict[] } {
  const [first] = verdicts;
  if (!first) throw new Error('no gate is registered for this stage');
  return { verdict: first, verdicts };
}

/** Rejects the version for a failed gate, with an audit row of the failed checks, and stops the run. */
export async function rejectForGate(
  pool: pg.Pool,
  spec: PipelineSpec,
  version: number,
  verdict: GateVerdict,
  measured: {
    metrics?: Record<string, number>;
    champion?: ChampionComparison;
    floor?: EvaluationOutcome['floor'];
  } = {},
): Promise<never> {
  const runId = runIdOf();
  const failed = verdict.checks.filter((check) => check.judged && !check.passed);
  const reason = `${verdict.gate} gate failed: ${failed.map((check) => check.message).join('; ')}`;
  await appendAudit(pool, {
    actor: runActor(runId),
    action: 'gate-failed',
    model: spec.name,
    version,
    details: {
      gate: verdict.gate,
      runId,
      failed: failed.map((check) => ({ name: check.name, message: check.message })),
    },
  });
  const current = await getVersion(pool, spec.name, version);
  if (current.status === 'training' || current.status === 'candidate') {
    await setStatus(pool, { model: spec.name, version, status: 'rejected', actor: runActor(runId), reason });
  }
  // The details reach the workflow: its status shows the verdict and what was measured.
  throw stopRun('GateFailedError', `${spec.name} v${version}: ${reason}`, { verdict, ...measured });
}

/**
 * The champion's ONNX bytes, once its manifest, signature (a trusted, unrevoked key) and SHA-256 are
 * verified: a production model that was swapped or re-signed is not scored, since a doctored champion
 * could let a worse candidate through the quality gate. A refusal is audited on the champion, the
 * candidate is rejected (it was never compared) and the run stops with TamperedArtifactError.
 */
async function verifiedChampion(
  pool: pg.Pool,
  objectStore: ActivityDeps['objectStore'],
  spec: PipelineSpec,
  candidate: number,
  champion: number,
): Promise<Uint8Array> {
  try {
    return (await readVerifiedArtifact(pool, objectStore, spec.name, champion)).onnxBytes;
  } catch (error) {
    if (!(error instanceof TamperedArtifactError)) throw error;
    const runId = runIdOf();
    await appendAudit(pool, {
      actor: runActor(runId),
      action: 'champion-refused',
      model: spec.name,
      version: champion,
      details: { reason: error.reason, message: error.message, runId, candidate },
    });
    const reason = `not compared: production version ${champion} failed verification (${error.reason})`;
    const current = await getVersion(pool, spec.name, candidate);
    if (current.status === 'training' || current.status === 'candidate') {
      await setStatus(pool, {
        model: spec.name,
        version: candidate,
        status: 'rejected',
        actor: runActor(runId),
        reason,
      });
    }
    throw stopRun(
      'TamperedArtifactError',
      `${spec.name} v${candidate} was not evaluated: the production version ${champion} is not scored, ${error.message}`,
      { reason: error.reason, champion },
    );
  }
}

export function createEvaluateActivities({ pool, objectStore }: ActivityDeps) {
  /**
   * A forecast's evaluation: the rolling-origin backtest on the snapshot, judged by the quality gate
   * against seasonal naive on the same cut-offs. The production version is not refitted at the
   * candidate's cut-offs, so the champion is reported as not comparable.
   */
  async function evaluateForecastCandidate(
    input: StageInput,
    spec: PipelineSpec,
  ): Promise<EvaluationOutcome> {
    const { version } = input;
    const loaded = await loadStageTable(objectStore, input);
    let evaluated: ForecastEvaluation;
    try {
      evaluated = evaluateForecast(forecastTableOf(loaded), spec, (progress) =>
        Context.current().heartbeat(progress),
      );
    } catch (error) {
      if (error instanceof TrainingError) {
        throw stopRun(
          'DataValidationError',
          `Evaluating ${spec.name} v${version} cannot work: ${error.message}`,
        );
      }
      throw error;
    }
    const production = await getAlias(pool, spec.name, 'production');
    const champion: ChampionComparison | undefined =
      production && production.version !== version
        ? {
            version: production.version,
            comparable: false,
            reason:
              'a forecast is judged on its own backtest cut-offs, where the production version was not fitted',
          }
        : undefined;
    const metrics = evaluated.metrics;
    const floor = evaluated.floor;
    const gates = gateRegistry.runStage('evaluate', {
      spec,
      metrics: metrics as unknown as TaskMetrics,
      championMetrics: undefined,
      y: evaluated.points.y,
      prediction: evaluated.points.prediction,
      floor: { kind: floor.kind, metrics: floor.metrics as unknown as TaskMetrics },
    });
    const predictionsKey = artifactKeys(spec.name, version).predictions;
    const stored: StoredPredictions = {
      testRows: [],
      y: evaluated.points.y,
      prediction: evaluated.points.prediction,
      segments: evaluated.points.segments,
      backtest: evaluated.backtest,
    };
    await objectStore.put(predictionsKey, JSON.stringify(stored), 'application/json');
    if (gates.failed) await rejectForGate(pool, spec, version, gates.failed, { metrics, champion, floor });
    return {
      metrics,
      ...(champion ? { champion } : {}),
      floor,
      ...stageVerdicts(gates.verdicts),
      predictionsKey,
    };
  }

  return {
    async evaluateCandidate(input: StageInput & { trained: StoredCandidate }): Promise<EvaluationOutcome> {
      const spec = await specOf(objectStore, input);
      if (spec.task === 'forecast') return evaluateForecastCandidate(input, spec);
      const { version } = input;
      // The champion: whatever production serves now, verified before anything is scored.
      const production = await getAlias(pool, spec.name, 'production');
      let championOnnx: Uint8Array | undefined;
      if (production && production.version !== version) {
        const served = await getVersion(pool, spec.name, production.version);
        if (served.artifacts.onnxKey) {
          championOnnx = await verifiedChampion(pool, objectStore, spec, version, production.version);
        }
      }

      const loaded = await loadStageTable(objectStore, input);
      const onnx = await objectStore.get(input.trained.onnxKey);
      const tested = await stoppingOn(() => evaluateOnTestSet({ onnx, table: loaded.table, spec }));

      // The champion on the same test rows.
      let champion: ChampionComparison | undefined;
      let championMetrics: TaskMetrics | undefined;
      if (production && championOnnx) {
        const score = await scoreChampion({
          onnx: championOnnx,
          table: loaded.table,
          spec,
          testRows: tested.testRows,
        });
        if (score.comparable) {
          championMetrics = score.metrics;
          champion = {
            version: production.version,
            comparable: true,
            metrics: metricNumbers(score.metrics),
          };
        } else {
          champion = { version: production.version, comparable: false, reason: score.reason };
          log.info('champion not comparable', { version: production.version, reason: score.reason });
        }
      }
      // Every gate of the evaluate stage (the quality gate) on the test metrics and predictions.
      const gates = gateRegistry.runStage('evaluate', {
        spec,
        metrics: tested.metrics,
        championMetrics,
        y: tested.y,
        prediction: tested.prediction,
        classLabels: tested.classLabels,
        floor: tested.floor,
      });

      const predictionsKey = artifactKeys(spec.name, version).predictions;
      const stored: StoredPredictions = {
        testRows: Array.from(tested.testRows),
        y: Array.from(tested.y),
        prediction: Array.from(tested.prediction),
        classLabels: tested.classLabels,
      };
      await objectStore.put(predictionsKey, JSON.stringify(stored), 'application/json');
      const metrics = metricNumbers(tested.metrics);
      const floor = { kind: tested.floor.kind, metrics: metricNumbers(tested.floor.metrics) };
      if (gates.failed) await rejectForGate(pool, spec, version, gates.failed, { metrics, champion, floor });
      return { metrics, champion, floor, ...stageVerdicts(gates.verdicts), predictionsKey };
    },
  };
}
