/**
 * One night's monitoring of one production model in a single pure call: the window's prediction
 * inputs, predictions and labelled outcomes against the model's reference profile, judged by the
 * spec's thresholds, into a `MonitoringReport`. The nightly activity loads the rows, calls this, and
 * stores the report and its page. A classifier's outcomes are also checked for calibration, class
 * balance and labels the model does not know.
 */
import type { SegmentColumn } from '../lifecycle/gates/fairness';
import type { PipelineSpec } from '../lifecycle/spec/schema';
import { type CalibrationDrift, calibrationDrift } from './calibration';
import { unknownOutcomes } from './classOutcomes';
import { type ClassPriorShift, classPriorShift } from './classPrior';
import type { Columns } from './columns';
import { type FairnessWatch, fairnessWatch, type PerformanceDecay, performanceDecay } from './decay';
import { featureDrift, predictionDrift, unseenCategories, type UnseenValue } from './drift';
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
  /**
   * Classifiers: outcome labels that are none of the model's classes (their rows are NaN in `y`).
   * @default none
   */
  unknownLabels?: readonly UnseenValue[];
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

/** What a classifier's labelled outcomes say beyond its metrics. */
interface ClassifierWatch {
  calibration: CalibrationDrift;
  classPrior: ClassPriorShift | null;
}

/**
 * Calibration against the test rows at training, and the class balance against the test rows' (or,
 * for a profile without them, the training rows').
 */
function classifierWatch(
  profile: ReferenceProfile,
  labelled: WindowOutcomes,
  k: number | undefined,
  minSamples: number,
): ClassifierWatch | null {
  const task = profile.task;
  if (task === 'regression') return null;
  const calibration = calibrationDrift({
    task,
    y: labelled.y,
    prediction: labelled.prediction,
    reference: profile.calibration,
    minSamples,
    ...(k === undefined ? {} : { k }),
  });
  const classes = profile.classes;
  const referenceCounts = classes?.test ?? classes?.training;
  const classPrior =
    classes && referenceCounts
      ? classPriorShift({
          classLabels: classes.labels,
          referenceCounts,
          reference: classes.test ? 'test' : 'training',
          y: labelled.y,
          minSamples,
        })
      : null;
  return { calibration, classPrior };
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
  let classifier: ClassifierWatch | null = null;
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
      referenceMetrics: profile.performance.metrics,
      decayTolerance: thresholds.decayTolerance,
    });
    classifier = classifierWatch(profile, labelled, k, thresholds.minSamples);
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
    calibration: classifier?.calibration ?? null,
    classPrior: classifier?.classPrior ?? null,
    unknownOutcomes: unknownOutcomes(outcomes?.unknownLabels ?? [], decay?.rows ?? 0, thresholds) ?? null,
    ...(input.targetUnit === undefined ? {} : { targetUnit: input.targetUnit }),
  });
}
