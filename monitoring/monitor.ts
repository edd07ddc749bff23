/**
 * One night's monitoring of one production model in a single pure call: the window's prediction
 * inputs, predictions and labelled outcomes against the model's reference profile, judged by the
 * spec's thresholds, into a `MonitoringReport`. The nightly activity loads the rows, calls this, and
 * stores the report and its page.
 */
import type { SegmentColumn } from '../lifecycle/gates/fairness';
import type { PipelineSpec } from '../lifecycle/spec/schema';
import type { Columns } from './columns';
import { type FairnessWatch, fairnessWatch, type PerformanceDecay, performanceDecay } from './decay';
import { featureDrift, predictionDrift, unseenCategories } from './drift';
import type { ReferenceProfile } from './reference';
import {
  buildMonitoringReport,
  monitoringThresholds,
  type MonitoringReport,
  type MonitoringWindow,
} from './report';

/** The parts of a pipeline spec monitoring reads. */
export type MonitoringSpecParts = Pick<PipelineSpec, 'segments' | 'monitoring'> & {
  gates: Pick<PipelineSpec['gates'], 'fairness'>;
};

/** The outcomes known for requests of the window, with what the model predicted for them. */
export interface WindowOutcomes {
  /** Actual outcomes: values for regression, class ids by the model's class labels otherwise; NaN = unknown. */
  y: ArrayLike<number>;
  /** As served, for the same requests (see `WindowInput.predictions`). */
  prediction: ArrayLike<number>;
  /** The spec's segment columns for the same requests, by column name. */
  segments: Readonly<Record<string, SegmentColumn>>;
}

export interface WindowInput {
  model: string;
  version: number;
  profile: ReferenceProfile;
  spec: MonitoringSpecParts;
  /** The window's bounds, ISO 8601. */
  from: string;
  to: string;
  /** The prediction inputs of the window, one row per request, a column per feature. */
  inputs: Columns;
  /**
   * The predictions served, one per request (multiclass: a row of class probabilities per request).
   * Regression: values. Binary: probability of class 1.
   */
  predictions: ArrayLike<number>;
  /** Requests of the window whose outcome is known; undefined (or none) when no outcome is yet. */
  outcomes?: WindowOutcomes;
  /** Unit of the target, shown after errors (`s`, `kWh`). @default undefined */
  targetUnit?: string;
}

/**
 * Measures a window against the model's reference profile and reports it (see `buildMonitoringReport`).
 *
 * @throws when the outcomes lack one of the spec's segment columns, or lengths do not agree
 */
export function monitorWindow(input: WindowInput): MonitoringReport {
  const { profile, spec, outcomes } = input;
  const thresholds = monitoringThresholds(spec.monitoring);
  const features = featureDrift(profile, input.inputs, thresholds);
  const prediction = predictionDrift(profile, input.predictions, thresholds);
  const labelled = outcomes && outcomes.y.length > 0 ? outcomes : undefined;
  const k = profile.prediction.kind === 'classes' ? profile.prediction.classLabels.length : undefined;
  let decay: PerformanceDecay | null = null;
  let fairness: FairnessWatch | null = null;
  if (labelled) {
    const common = {
      task: profile.task,
      y: labelled.y,
      prediction: labelled.prediction,
      minSamples: thresholds.minSamples,
      ...(k === undefined ? {} : { k }),
    };
    decay = performanceDecay({
      ...common,
      primaryMetric: profile.performance.metric,
      referenceValue: profile.performance.value,
      decayTolerance: thresholds.decayTolerance,
    });
    const segments = spec.segments.map((name) => {
      const column = labelled.segments[name];
      if (!column) throw new Error(`the outcomes have no segment column "${name}"`);
      return [name, column] as const;
    });
    fairness = fairnessWatch({
      ...common,
      segments: Object.fromEntries(segments),
      gate: spec.gates.fairness,
      ...(input.targetUnit === undefined ? {} : { targetUnit: input.targetUnit }),
    });
  }
  return buildMonitoringReport({
    model: input.model,
    version: input.version,
    task: profile.task,
    target: profile.target,
    window: {
      from: input.from,
      to: input.to,
      predictions: prediction.rows,
      labelled: decay?.rows ?? 0,
    } satisfies MonitoringWindow,
    thresholds,
    featureDrift: features,
    predictionDrift: prediction,
    unseen: unseenCategories(profile, input.inputs, thresholds),
    decay,
    fairness,
    ...(input.targetUnit === undefined ? {} : { targetUnit: input.targetUnit }),
  });
}
