/**
 * What one model kind brings to the trainer registry (ml/trainers.ts): its parameters, how it trains,
 * predicts and exports, and what its run reports. Code that handles any kind asks the entry instead
 * of switching on the kind, so a new kind is one entry.
 */
import type { z } from 'zod';
import type { EncodedFeatures, TrainingData } from './dataset';
import type { GbdtLoss, Model, TaskKind } from './model';
import type { GraphBuilder } from './onnx/protoBuilders';

/** One report of a running trainer (once per boosting round or solver iteration). */
export interface TrainerProgress {
  /** Iterations done so far, from 1. */
  iteration: number;
  /** Iterations the trainer may run at most (early stopping may end sooner). */
  totalIterations: number;
  /** Mean training loss after this iteration (see {@link TrainerSummary.loss}). */
  trainLoss?: number;
  /** Mean validation loss after this iteration, when there is a validation set (gbdt). */
  validationLoss?: number;
}

export interface TrainerRun {
  /** Rows held out for early stopping, or only to report the validation loss. */
  validation?: TrainingData | undefined;
  onProgress?: (progress: TrainerProgress) => void;
}

export interface FeatureImportance {
  name: string;
  importance: number;
}

/** What a training run did, in the trainer's words (lifecycle adds rows and time). Plain JSON. */
export interface TrainerSummary {
  /**
   * What `trainLoss` and `validationLoss` measure: mean squared or absolute error, mean log loss
   * (`binary_logistic`) or multiclass cross-entropy (`multiclass_softmax`).
   */
  loss: GbdtLoss;
  /**
   * Boosting rounds kept in the model (after early stopping), solver iterations (linear), 0 for a
   * trainer that does not iterate.
   */
  iterations: number;
  /** Boosting rounds or solver iterations run, the ones early stopping dropped included. */
  iterationsRun: number;
  /** Gbdt with a validation set: the round (from 1) with the lowest validation loss. */
  bestIteration?: number;
  /** Mean training loss of the returned model. */
  trainLoss?: number;
  /** Mean validation loss of the returned model, when there is a validation set. */
  validationLoss?: number;
  /** Linear only: false when the solver hit `maxIterations` before converging. */
  converged?: boolean;
  /**
   * Gbdt: total split gain per feature. Linear: the absolute weights on the standardised inputs
   * (a categorical feature's one-hot weights each times the standard deviation of its 0/1 column,
   * summed), summed over the outputs. Largest first.
   */
  featureImportance: FeatureImportance[];
}

/** A problem with a trainer's parameters that depends on other spec fields; `path` is under `params`. */
export interface ParamIssue {
  path: (string | number)[];
  message: string;
}

export interface ParamContext {
  /** Undefined when the spec's task is itself malformed. */
  task: TaskKind | undefined;
  hasValidation: boolean;
}

export interface Trainer<Kind extends string, Schema extends z.ZodType, M extends Model> {
  kind: Kind;
  /** One line for people (spec docs, bench output). */
  description: string;
  /** The spec's `trainer.params`: every field defaulted, messages naming the accepted values. */
  params: Schema;
  train(
    data: TrainingData,
    params: z.output<Schema>,
    run?: TrainerRun,
  ): { model: M; summary: TrainerSummary };
  /** Regression: values. Binary: P(class 1). Multiclass: rows x classes, row-major. */
  predict(model: M, encoded: EncodedFeatures): Float64Array;
  /** Raw scores per row the exported graph computes before the task's output head. */
  scoreWidth(model: M): number;
  /** Adds the model's raw scores to an ONNX graph (see ml/onnx/export.ts); returns their name. */
  addScores(graph: GraphBuilder, model: M, inputs: readonly string[], scoreName: string | undefined): string;
  /** Checks of the (raw, possibly malformed) params against the rest of the spec. */
  checkParams?(params: Record<string, unknown>, context: ParamContext): ParamIssue[];
  /** Defaults that depend on the task. */
  resolveParams?(params: z.output<Schema>, task: TaskKind): z.output<Schema>;
  /** Size figures for the bench and people (`{ trees: 200 }`). */
  size?(model: M): Record<string, number>;
  /**
   * The parameter that counts boosting rounds: successive halving gives a tuning trial a share of it.
   * A trainer without one gets a share of each fold's newest training rows instead.
   */
  roundsParam?: string;
}

/** Largest first; equal importances keep the feature order. */
export function largestFirst(importance: FeatureImportance[]): FeatureImportance[] {
  return [...importance].sort((a, b) => b.importance - a.importance);
}

/** Losses that are numbers (JSON has no NaN or Infinity), the others left out. */
export function finiteLosses(
  trainLoss: number | undefined,
  validationLoss: number | undefined,
): Pick<TrainerSummary, 'trainLoss' | 'validationLoss'> {
  return {
    ...(trainLoss !== undefined && Number.isFinite(trainLoss) ? { trainLoss } : {}),
    ...(validationLoss !== undefined && Number.isFinite(validationLoss) ? { validationLoss } : {}),
  };
}
