/**
 * The pipeline spec: one JSON document per model that names where the data comes from, what to predict
 * from which columns, how to split and train, the gates a candidate must pass, who approves it, how it
 * is deployed and how it is watched. It is validated before any work starts; every problem names the
 * field it is about (`features[2].name: ...`), all problems at once.
 */
import { z } from 'zod';
import { gateRegistry } from '../gates/registry';
import { isBareName, MAX_DERIVED_FEATURES } from '../features/expression';
import {
  TRAINER_KINDS,
  type TrainerChoice,
  type TrainerChoiceInput,
  trainerEntries,
} from '../../ml/trainers';
import {
  between,
  columnName,
  cronProblem,
  kindMessage,
  parseDuration,
  selectQuery,
  strictObject,
  whenGiven,
} from './syntax';
import { historySchema } from './history';
import { forecastSchema } from './forecast';
import { tuningSchema } from './tuning';
import { scoringSchema } from './scoring';
import type { SpecTask } from './metrics';

export const TASKS = [
  'regression',
  'binary',
  'multiclass',
  'forecast',
] as const satisfies readonly SpecTask[];
export {
  DEFAULT_PRIMARY_METRIC,
  LOWER_IS_BETTER,
  METRICS,
  METRICS_BY_TASK,
  type QualityMetric,
  type SpecTask,
} from './metrics';

export const sourceSchema = z.discriminatedUnion(
  'kind',
  [
    strictObject({
      /** Read a whole table (or view). */
      kind: z.literal('table'),
      /** Table or view name, optionally schema-qualified (`schema.table`). */
      table: z
        .string()
        .regex(
          /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/,
          'must be a table name such as steel_energy or shop.jobs',
        ),
      /** A note for people on which database holds the table; the connection itself is DATABASE_URL. */
      database: z.string().min(1).optional(),
    }),
    strictObject({
      /** Read the rows of a query. */
      kind: z.literal('sql'),
      /**
       * A single read-only SELECT (or WITH ... SELECT) query; other statements are refused. A list of
       * strings is read as the lines of one query (JSON has no multi-line strings).
       */
      query: selectQuery,
      /** A note for people on which database the query runs against; the connection itself is DATABASE_URL. */
      database: z.string().min(1).optional(),
    }),
  ],
  { error: (issue) => kindMessage(issue, 'must be "table" or "sql"') },
);

export const featureSchema = strictObject({
  /** Column name, exactly as in the source. */
  name: columnName,
  /** How the column enters the model: a number, or a label one-hot/coded by the trainer. */
  kind: z.enum(['numeric', 'categorical'], {
    error: (issue) => whenGiven(issue, 'must be "numeric" or "categorical"'),
  }),
});

export const derivedFeatureSchema = strictObject({
  /**
   * The new column's name: letters, digits and `_`, not starting with a digit, so later expressions
   * can use it bare (`cut_length_per_kw`).
   */
  name: z
    .string()
    .max(63, 'must be at most 63 characters')
    .refine(
      isBareName,
      'must be a name of letters, digits and _ that does not start with a digit and is not and, or, not or in, such as cut_length_per_kw',
    ),
  /**
   * Its definition in the expression language (lifecycle/features/expression/syntax.ts), e.g.
   * `cut_length_mm / max(laser_power_kw, 1)`, `log1p(quantity)`, `if(material_family == "steel", 1, 0)`,
   * `dayofweek(released_at)`; checked by the loader, and against the source's column types.
   */
  expression: z.string(),
});

export const testFraction = between(0, 0.5, { minOpen: true });
/**
 * Fraction of all rows held out (from the training part) as a validation set for early stopping;
 * ordered splits take the latest training rows.
 * @default undefined (no validation set)
 */
export const validationFraction = between(0, 0.5, { minOpen: true }).optional();

export const splitSchema = z.discriminatedUnion(
  'kind',
  [
    strictObject({
      /** The last rows (by `timeColumn`, or in source order without one) are the test set. */
      kind: z.literal('ordered'),
      /** Fraction of rows held out for testing, in (0, 0.5]. */
      testFraction,
      validationFraction,
    }),
    strictObject({
      /** A seeded random sample of rows is the test set. */
      kind: z.literal('random'),
      /** Fraction of rows held out for testing, in (0, 0.5]. */
      testFraction,
      validationFraction,
      /**
       * Seed of the random split.
       * @default 42
       */
      seed: z.number().int('must be an integer').default(42),
    }),
  ],
  { error: (issue) => kindMessage(issue, 'must be "ordered" or "random"') },
);

/** Each trainer's parameters, from its registry entry (ml/trainers.ts). */
export { gbdtParamsSchema } from '../../ml/gbdt/trainer';
export { linearParamsSchema } from '../../ml/linear/trainer';

/** One `{ kind, params }` choice per registry entry; the kind is the discriminator. */
export const trainerSchema = z.discriminatedUnion(
  'kind',
  trainerEntries().map((trainer) =>
    strictObject({
      kind: z.literal(trainer.kind),
      /** Trainer options; each missing one takes the trainer's default. */
      params: trainer.params.default(() => trainer.params.parse({})),
    }),
  ) as unknown as [z.ZodObject, ...z.ZodObject[]],
  {
    error: (issue) =>
      kindMessage(issue, `must be one of: ${TRAINER_KINDS.map((kind) => `"${kind}"`).join(', ')}`),
  },
) as unknown as z.ZodType<TrainerChoice, TrainerChoiceInput>;

export { qualityGateSchema, qualityThresholdSchema } from '../gates/quality';
export { fairnessGateSchema } from '../gates/fairness';
export { securityGateSchema } from '../gates/security';

/** One part per registered gate (`lifecycle/gates/registry.ts`), each with its defaults. */
export const gatesSchema = gateRegistry.gatesSchema;

export const approvalSchema = strictObject({
  /** Who may approve a candidate (user names); any one of them suffices. */
  approvers: z.array(z.string().min(1, 'must be a name')).min(1, 'must name at least one approver'),
  /**
   * How long a candidate waits for approval before it is rejected: a duration such as '72h', '3d',
   * '30m' or '1d12h' (units s, m, h, d, w). `parseDuration` turns it into milliseconds.
   */
  deadline: z.string().refine((value) => parseDuration(value) !== undefined, {
    error: 'must be a duration such as 72h, 3d, 30m or 1d12h (units s, m, h, d, w)',
  }),
  /**
   * When to remind the approvers, as a fraction of the deadline.
   * @default 0.5
   */
  reminderAtFraction: between(0, 1, { minOpen: true, maxOpen: true }).default(0.5),
});

export const deploySchema = strictObject({
  /**
   * replace: the approved model serves all traffic; canary: it serves `canaryShare` of requests
   * first; shadow: it scores alongside the champion without answering.
   */
  strategy: z.enum(['replace', 'canary', 'shadow'], {
    error: (issue) => whenGiven(issue, 'must be replace, canary or shadow'),
  }),
  /** Canary only (and required there): share of requests the new model answers, in (0, 1). */
  canaryShare: between(0, 1, { minOpen: true, maxOpen: true }).optional(),
  /**
   * Canary only: the nightly check aborts the canary when its error on the labelled outcomes of the
   * rows it answered exceeds production's on the rows production answered since the canary started,
   * times this (1.2 = 20 % worse). The error follows the primary metric: RMSE or MAE, log loss or
   * error rate (`monitoring/versionErrors.ts`).
   * @default 1.2 (`DEFAULT_CANARY_BOUND`)
   */
  canaryMaxErrorRatio: between(1, Number.MAX_VALUE).optional(),
  /**
   * Canary only: the fewest labelled outcomes each side (canary, production) needs before the
   * nightly check decides anything; with fewer, the report says so and the canary stays.
   * @default 50 (`DEFAULT_CANARY_BOUND`)
   */
  canaryMinOutcomes: between(1, Number.MAX_SAFE_INTEGER, { integer: true }).optional(),
  /**
   * Shadow only, regression: a request counts as differing in the nightly report when the shadow's
   * prediction is further from production's than this share of it (0.1 = 10 %).
   * @default 0.1 (`DEFAULT_SHADOW_TOLERANCE`)
   */
  shadowTolerance: between(0, Number.MAX_VALUE, { minOpen: true }).optional(),
});

/** The canary bound when the spec gives none (`deploy.canaryMaxErrorRatio`, `deploy.canaryMinOutcomes`). */
export const DEFAULT_CANARY_BOUND = { maxErrorRatio: 1.2, minOutcomes: 50 } as const;

/** The shadow comparison's relative tolerance when the spec gives none (`deploy.shadowTolerance`). */
export const DEFAULT_SHADOW_TOLERANCE = 0.1;

export const DEFAULT_SCHEDULE = '0 2 * * *';

export const monitoringSchema = strictObject({
  /**
   * When the nightly check runs: a 5-field cron expression (minute hour day-of-month month day-of-week).
   * @default '0 2 * * *'
   */
  schedule: z
    .string()
    .superRefine((value, ctx) => {
      const problem = cronProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .default(DEFAULT_SCHEDULE),
  /**
   * Population stability index of any feature at or above which drift is raised.
   * @default 0.2
   */
  psiAlarm: between(0, Number.MAX_VALUE, { minOpen: true }).default(0.2),
  /**
   * Jensen-Shannon divergence (base 2, in [0, 1]) of any feature at or above which drift is raised.
   * @default 0.1
   */
  jsAlarm: between(0, 1, { minOpen: true }).default(0.1),
  /**
   * Relative worsening of the primary quality metric on fresh labelled data that marks the model
   * stale (0.2 = 20 % worse than at evaluation).
   * @default 0.2
   */
  decayTolerance: between(0, Number.MAX_VALUE, { minOpen: true }).default(0.2),
  /**
   * Share of rows with a category unseen at training at or above which an alarm is raised.
   * @default 0.05
   */
  unseenCategoryRateAlarm: between(0, 1, { minOpen: true }).default(0.05),
  /**
   * Fewest new rows a check needs to judge drift or decay.
   * @default 200
   */
  minSamples: between(1, Number.MAX_SAFE_INTEGER, { integer: true }).default(200),
});

export const outcomesSchema = strictObject({
  /**
   * A read-only SELECT over the shop's tables that returns what actually happened, one row per
   * business key: `key` (the key a caller sent with its prediction, e.g. the job id), `actual` (a
   * number for regression, the class label for a classifier) and, optionally, `observed_at` (a date
   * or timestamp; else the time it is read). The nightly check runs it as the reader role before it
   * judges the window, so the outcomes join the predictions without anyone posting them. A string,
   * or a list of its lines.
   */
  query: selectQuery,
});

export const specObjectSchema = strictObject({
  /** Identifier of the pipeline, kebab-case (`steel-energy`); it names workflows and model versions. */
  name: z
    .string()
    .max(63, 'must be at most 63 characters')
    .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'must be kebab-case: lower-case letters and digits joined by "-"'),
  /** What the model predicts and for whom, for people. */
  description: z.string().min(1, 'must describe the pipeline'),
  /**
   * What is predicted: a number, one of two classes, one of several, or the coming periods of a
   * target per series (`forecast`, with the `forecast` part).
   */
  task: z.enum(TASKS, { error: (issue) => whenGiven(issue, `must be one of: ${TASKS.join(', ')}`) }),
  /** Where the rows come from. */
  source: sourceSchema,
  /** The column to predict (for a forecast: the value measured per period and series). */
  target: columnName,
  /**
   * Task "forecast" only (and required there): the period, the horizon and the backtest
   * (`lifecycle/spec/forecast.ts`).
   * @default undefined
   */
  forecast: forecastSchema.optional(),
  /** The input columns, each numeric or categorical; non-empty, unique, without the target. */
  features: z.array(featureSchema).min(1, 'must list at least one feature'),
  /**
   * Numeric features computed from the source's columns by expressions, in order: each may use the
   * source's columns and the derived features listed before it. Checked at spec check; built by
   * the features stage, computed again by serving from a request's source columns; a `features`
   * entry naming one takes it as a numeric model input.
   * @default undefined (none)
   */
  derived: z
    .array(derivedFeatureSchema)
    .max(MAX_DERIVED_FEATURES, `must hold at most ${MAX_DERIVED_FEATURES} derived features`)
    .optional(),
  /**
   * Per-entity features from each row's earlier rows: lags, rolling statistics over a time or event
   * window, time since the previous event (`lifecycle/spec/history.ts`); needs `timeColumn`. Checked
   * at spec check, built by the features stage, and served from the version's entity history
   * (`serving/entityHistory.ts`); a `features` entry that names one (as numeric) makes it a model input.
   * @default undefined (none)
   */
  history: historySchema.optional(),
  /**
   * Categorical features whose values define the slices of the fairness gate and of monitoring.
   * @default []
   */
  segments: z.array(columnName).default([]),
  /**
   * Column that orders rows in time, for ordered splits and monitoring windows; not a feature unless
   * listed in `features`.
   * @default undefined (source order)
   */
  timeColumn: columnName.optional(),
  /** How rows are divided into training and test sets. */
  split: splitSchema,
  /** The learning algorithm and its parameters. */
  trainer: trainerSchema,
  /**
   * A search over the trainer's parameters before training (`lifecycle/spec/tuning.ts`): the space,
   * the trials, the time budget, the strategy and the folds; the best trial's parameters train the
   * model. It changes the model, so editing it makes a new version.
   * @default undefined (the trainer's parameters as given)
   */
  tuning: tuningSchema.optional(),
  /** Thresholds a candidate must meet before it is offered for approval. */
  gates: gatesSchema.default(() => gatesSchema.parse({})),
  /** Who approves a candidate and how long they have. */
  approval: approvalSchema,
  /** How an approved model replaces the champion. */
  deploy: deploySchema,
  /** The nightly drift and decay check. */
  monitoring: monitoringSchema.default(() => monitoringSchema.parse({})),
  /**
   * Where the nightly check reads the actual values from (`outcomes.query`); they do not change the
   * model, so editing them makes no new version. Not for task "forecast", whose actuals are the
   * periods its source brings in.
   * @default undefined (outcomes arrive by `POST /v1/outcomes` only)
   */
  outcomes: outcomesSchema.optional(),
  /**
   * Batch scorings on a schedule (`lifecycle/spec/scoring.ts`): queries whose rows the production
   * version scores into a result table, e.g. the open quotes every night; deploy sets their Temporal
   * Schedules. They do not change the model. Not for task "forecast".
   * @default undefined (none)
   */
  scoring: scoringSchema.optional(),
});

export type SpecObject = z.output<typeof specObjectSchema>;
