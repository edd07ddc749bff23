/**
 * The nightly check of a forecast model: the forecasts its production version answers (from its
 * origin, scored by its verified ONNX file, as serving does) against the orders that have arrived
 * since, read fresh from the spec's source as the lifecycle reads it. The report says whether they
 * decayed beyond the spec's tolerance, or have all come due, either of which starts retraining.
 */
import type pg from 'pg';
import { loadSnapshot, takeSnapshot } from '../../lifecycle/ingest';
import {
  type ForecastState,
  frameSeries,
  forecastInputs,
  forecastTableOf,
  assembleForecast,
  periodDate,
  scoreArrivedForecasts,
  verifyForecastState,
} from '../../lifecycle/forecast';
import type { PipelineSpec } from '../../lifecycle/spec';
import { OnnxScorer } from '../../ml/onnx';
import { biasedSeries, forecastDecay, forecastMonitoringReport } from '../../monitoring/forecastDecay';
import type { MonitoringReport } from '../../monitoring/report';
import type { ObjectStore } from '../../platform/objectStore';
import { getVersion } from '../../registry';
import { readVerifiedArtifact } from '../lifecycle/verifiedArtifact';

export interface ForecastCheckDeps {
  pool: pg.Pool;
  readerPool: pg.Pool;
  objectStore: ObjectStore;
}

/** The version's forecasts from its origin, scored with its verified ONNX graph. */
async function servedForecasts(deps: ForecastCheckDeps, model: string, version: number) {
  const artifact = await readVerifiedArtifact(deps.pool, deps.objectStore, model, version);
  const signed = artifact.manifest.forecast;
  if (!signed) throw new Error(`${model} v${version} has no forecast state in its manifest`);
  const state: ForecastState = verifyForecastState(
    await deps.objectStore.get(signed.key),
    signed,
    `${model} v${version}`,
  );
  const ids = state.series.map((series) => series.id);
  const scorer = await OnnxScorer.load(artifact.onnxBytes);
  try {
    const { prediction } = await scorer.scoreTable(forecastInputs(state, ids, state.settings.horizon));
    if (!prediction) throw new Error(`${model} v${version} scored no values`);
    return { state, forecasts: assembleForecast(state, ids, state.settings.horizon, prediction) };
  } finally {
    await scorer.release();
  }
}

/**
 * Checks a forecast model's production version.
 *
 * @returns the monitoring report, for the caller to keep like any other
 */
export async function checkForecastModel(
  deps: ForecastCheckDeps,
  input: { model: string; version: number; spec: PipelineSpec; from: Date; to: Date },
): Promise<MonitoringReport> {
  const { model, version, spec } = input;
  const { state, forecasts } = await servedForecasts(deps, model, version);
  // The source as it is tonight, read as the lifecycle reads it (and kept once per content).
  const record = await takeSnapshot({
    pool: deps.readerPool,
    store: deps.objectStore,
    pipeline: model,
    spec,
  });
  const table = forecastTableOf(await loadSnapshot(deps.objectStore, record.key));
  const timeColumn = spec.timeColumn ?? '';
  const frame = frameSeries(
    table,
    { timeColumn, target: spec.target, keyColumns: state.keyColumns },
    state.settings,
  );
  // The forecasts serving answered, cut to the series and periods that can be scored.
  const byId = new Map(forecasts.map((forecast) => [forecast.id, forecast]));
  const scored = scoreArrivedForecasts(
    (ids, horizon) =>
      ids.map((id) => {
        const forecast = byId.get(id);
        if (!forecast) throw new Error(`no forecast of series ${id}`);
        return { ...forecast, points: forecast.points.slice(0, horizon) };
      }),
    state,
    frame,
  );
  const arrived = {
    points: scored.overall.points,
    periods: scored.periodsScored,
    mase: scored.overall.mase,
    smape: scored.overall.smape,
    bias: scored.overall.bias ?? Number.NaN,
    coverage: scored.overall.coverage ?? Number.NaN,
  };
  const evaluated = (await getVersion(deps.pool, model, version)).metrics?.mase;
  // The backtest's MASE, which monitoring holds the arrived periods to.
  const decay = forecastDecay({
    arrived,
    referenceMase: typeof evaluated === 'number' ? evaluated : null,
    decayTolerance: spec.monitoring.decayTolerance,
    minSamples: spec.monitoring.minSamples,
  });
  return forecastMonitoringReport({
    model,
    version,
    spec,
    from: input.from.toISOString(),
    to: input.to.toISOString(),
    period: state.settings.period,
    decay,
    biased: biasedSeries(scored.seriesBias),
    comeDue:
      arrived.periods >= state.settings.horizon
        ? {
            periods: arrived.periods,
            period: state.settings.period,
            origin: periodDate(state.originPeriod),
          }
        : undefined,
  });
}
