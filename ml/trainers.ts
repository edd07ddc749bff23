/**
 * The trainer registry: every model kind Kerf can train, one entry each (see ml/trainer.ts for what an
 * entry brings). The spec's `trainer.kind`, the ONNX metadata's `type`, the train stage, the exporter
 * and the bench all read this table, so adding a kind is adding an entry here.
 */
import type { z } from 'zod';
import { baselineTrainer } from './baseline/trainer';
import { gbdtTrainer } from './gbdt/trainer';
import { linearTrainer } from './linear/trainer';
import type { Model } from './model';
import type { Trainer } from './trainer';

export const trainers = {
  gbdt: gbdtTrainer,
  linear: linearTrainer,
  baseline: baselineTrainer,
} as const;

export type TrainerKind = keyof typeof trainers;

/** The kinds, in registry order. */
export const TRAINER_KINDS = Object.keys(trainers) as [TrainerKind, ...TrainerKind[]];

/** The kind that is the floor every candidate must beat (lifecycle/evaluate.ts). */
export const FLOOR_KIND = baselineTrainer.kind;

/** A kind's parameters with every default filled in. */
export type TrainerParams<K extends TrainerKind> = z.output<(typeof trainers)[K]['params']>;

/** The spec's `trainer`: one kind and its parameters. */
export type TrainerChoice = { [K in TrainerKind]: { kind: K; params: TrainerParams<K> } }[TrainerKind];
export type TrainerChoiceInput = {
  [K in TrainerKind]: { kind: K; params?: z.input<(typeof trainers)[K]['params']> };
}[TrainerKind];

/** An entry seen from code that handles every kind alike: parameters and models are its own business. */
export type AnyTrainer = Trainer<TrainerKind, z.ZodType, Model>;

// Every model a trainer makes names its kind as `type`, which is how a model finds its entry again.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const MODEL_TYPES_ARE_KINDS: Same<Model['type'], TrainerKind> = true;

export function isTrainerKind(kind: unknown): kind is TrainerKind {
  return typeof kind === 'string' && Object.hasOwn(trainers, kind);
}

/** The entry of a kind. */
export function trainerOf(kind: TrainerKind): AnyTrainer {
  return trainers[kind];
}

/** Every entry, in registry order. */
export function trainerEntries(): AnyTrainer[] {
  return TRAINER_KINDS.map(trainerOf);
}

/** The entry that made `model`. */
export function trainerOfModel(model: Model): AnyTrainer {
  return trainerOf(model.type);
}
