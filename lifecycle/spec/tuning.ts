/**
 * A spec's `tuning`: the tune stage searches the trainer's parameters before the train stage. Trials
 * draw parameters from `space` (seeded), are scored on folds of the training rows (time-ordered when
 * the spec orders its rows in time; the test rows are never seen) and are cut down by successive
 * halving: every trial gets a small share of the boosting rounds, the best `1/reduction` go on with
 * `reduction` times more, until the last rung trains with all of them. The best trial of the last
 * rung it reached gives the parameters the train stage uses. The tuning changes the model, so it is
 * one of the fields that make a new version.
 */
import { z } from 'zod';
import type { AnyTrainer } from '../../ml/trainers';
import { between, isRecord, parseDuration, strictObject, unknownKeyReason, whenGiven } from './syntax';

/** The most parameters one search may vary, and the most trials it may draw. */
export const MAX_TUNED_PARAMS = 20;
export const MAX_TRIALS = 1000;
/** The longest budget a search may have. */
export const MAX_TUNING_BUDGET_MS = 24 * 3_600_000;
/** The most values a `values` list may hold. */
export const MAX_CHOICES = 100;

/** A range of numbers: drawn uniformly, or uniformly in log space (`scale: "log"`, min > 0). */
export const numberRangeSchema = strictObject({
  /** Smallest value drawn. */
  min: z.number({ error: (issue) => whenGiven(issue, 'must be a number') }),
  /** Largest value drawn. */
  max: z.number({ error: (issue) => whenGiven(issue, 'must be a number') }),
  /**
   * linear: every value in [min, max] as likely; log: every factor as likely (learning rates,
   * regularisation), which needs min > 0.
   * @default 'linear'
   */
  scale: z
    .enum(['linear', 'log'], { error: (issue) => whenGiven(issue, 'must be linear or log') })
    .default('linear'),
  /**
   * Round each drawn value to a whole number (leaves, rows per leaf).
   * @default false
   */
  integer: z.boolean({ error: (issue) => whenGiven(issue, 'must be true or false') }).default(false),
}).superRefine((range, ctx) => {
  if (range.min > range.max) ctx.addIssue({ code: 'custom', path: ['max'], message: 'must be >= min' });
  if (range.scale === 'log' && range.min <= 0) {
    ctx.addIssue({ code: 'custom', path: ['min'], message: 'must be > 0 on a log scale' });
  }
  if (range.integer && Math.ceil(range.min) > Math.floor(range.max)) {
    ctx.addIssue({ code: 'custom', path: ['max'], message: 'the range holds no whole number' });
  }
});

/** A list of values, each as likely. */
export const choiceSchema = strictObject({
  /** The values to choose from: numbers, text or true/false. */
  values: z
    .array(z.union([z.number(), z.string().max(200), z.boolean()]), {
      error: (issue) => whenGiven(issue, 'must be a list of numbers, text or true/false'),
    })
    .min(1, 'must hold at least one value')
    .max(MAX_CHOICES, `must hold at most ${MAX_CHOICES} values`),
});

const SPACE_SHAPE =
  'must be a range { "min": ..., "max": ..., "scale": "log" } or a list { "values": [...] }';

/**
 * How one parameter is searched: a range, or a list of values (an object with `values` is a list).
 * Each problem is named at its own field.
 */
export const paramSpaceSchema = z.unknown().transform((value, ctx): NumberRange | Choice => {
  if (!isRecord(value)) {
    ctx.addIssue({ code: 'custom', message: SPACE_SHAPE });
    return z.NEVER;
  }
  if ('values' in value && ('min' in value || 'max' in value)) {
    ctx.addIssue({ code: 'custom', message: 'give a range (min, max) or a list (values), not both' });
    return z.NEVER;
  }
  const parsed = 'values' in value ? choiceSchema.safeParse(value) : numberRangeSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  }
  return z.NEVER;
});

export type NumberRange = z.output<typeof numberRangeSchema>;
export type Choice = z.output<typeof choiceSchema>;
export type ParamSpace = NumberRange | Choice;

export const TUNING_STRATEGIES = ['successive-halving', 'random'] as const;
export type TuningStrategy = (typeof TUNING_STRATEGIES)[number];

export const tuningSchema = strictObject({
  /**
   * The trainer parameters to search, each a range or a list of values; the others keep the value
   * in `trainer.params`. Checked against the trainer's own parameter ranges.
   */
  space: z
    .record(z.string().max(100), paramSpaceSchema, {
      error: (issue) => whenGiven(issue, 'must map trainer parameter names to their ranges'),
    })
    .refine((space) => Object.keys(space).length > 0, 'must name at least one trainer parameter')
    .refine(
      (space) => Object.keys(space).length <= MAX_TUNED_PARAMS,
      `must name at most ${MAX_TUNED_PARAMS} parameters`,
    ),
  /**
   * Trials drawn; with successive halving all of them start on the smallest budget.
   * @default 27
   */
  trials: between(1, MAX_TRIALS, { integer: true }).default(27),
  /**
   * Longest the search may take, a duration such as '5m' or '1h'; trials not finished by then stop,
   * and the best finished one wins.
   * @default '5m'
   */
  budget: z
    .string()
    .refine(
      (value) => {
        const ms = parseDuration(value);
        return ms !== undefined && ms <= MAX_TUNING_BUDGET_MS;
      },
      { error: 'must be a duration such as 5m, 30m or 1h (units s, m, h), at most 24h' },
    )
    .default('5m'),
  /**
   * successive-halving: many trials on a small share of the boosting rounds, the best go on with
   * more; random: every trial with all of them.
   * @default 'successive-halving'
   */
  strategy: z
    .enum(TUNING_STRATEGIES, {
      error: (issue) => whenGiven(issue, `must be one of: ${TUNING_STRATEGIES.join(', ')}`),
    })
    .default('successive-halving'),
  /**
   * Successive halving: each rung keeps the best 1/reduction of its trials and gives them reduction
   * times more rounds.
   * @default 3
   */
  reduction: between(2, 8, { integer: true }).default(3),
  /**
   * Successive halving: how many rungs; the first trains with 1/reduction^(rungs-1) of the rounds.
   * @default 3
   */
  rungs: between(1, 6, { integer: true }).default(3),
  /**
   * Folds of the training rows each trial is scored on: with a time column, each fold trains on
   * the rows before a block and is scored on the block (an expanding window, never the future);
   * without, a seeded k-fold.
   * @default 3
   */
  folds: between(2, 10, { integer: true }).default(3),
  /**
   * Seed of the draws (and of the folds without a time column).
   * @default 42
   */
  seed: z.number().int('must be an integer').default(42),
});

export type TuningSpec = z.output<typeof tuningSchema>;

/** The tuning's budget in milliseconds (the schema has checked it parses). */
export function tuningBudgetMs(tuning: Pick<TuningSpec, 'budget'>): number {
  return parseDuration(tuning.budget) ?? 0;
}

/** A problem with `tuning.space` against the trainer; `path` is under `tuning.space`. */
export interface SpaceIssue {
  path: (string | number)[];
  message: string;
}

/**
 * What is wrong with a (raw, possibly malformed) `tuning.space` for a trainer: names it does not
 * take (with a "did you mean"), the seed, and ends or values outside the trainer's own ranges.
 */
export function tuningSpaceProblems(trainer: AnyTrainer, space: Record<string, unknown>): SpaceIssue[] {
  const shape = (trainer.params as unknown as { shape?: Record<string, unknown> }).shape ?? {};
  const known = Object.keys(shape).filter((name) => name !== 'seed');
  const issues: SpaceIssue[] = [];
  const refusal = (name: string, value: unknown): string | undefined => {
    const parsed = trainer.params.safeParse({ [name]: value });
    return parsed.success ? undefined : (parsed.error.issues[0]?.message ?? 'not accepted');
  };
  for (const [name, range] of Object.entries(space)) {
    if (name === 'seed') {
      issues.push({
        path: [name],
        message: 'the seed is not tuned: a search over seeds finds luck, not a better model',
      });
      continue;
    }
    if (!known.includes(name)) {
      issues.push({
        path: [name],
        message:
          known.length === 0
            ? `the ${trainer.kind} trainer has no parameters to tune: remove tuning`
            : `not a parameter of the ${trainer.kind} trainer; ${unknownKeyReason(name, known)}`,
      });
      continue;
    }
    if (!isRecord(range)) continue;
    if (Array.isArray(range.values)) {
      range.values.forEach((value: unknown, index) => {
        const problem = refusal(name, value);
        if (problem) issues.push({ path: [name, 'values', index], message: `${name} ${problem}` });
      });
      continue;
    }
    for (const end of ['min', 'max'] as const) {
      const value = range[end];
      if (typeof value !== 'number') continue;
      const problem = refusal(name, value);
      if (problem) issues.push({ path: [name, end], message: `${name} ${problem}` });
    }
    if (
      typeof range.min === 'number' &&
      typeof range.max === 'number' &&
      range.integer !== true &&
      range.min < range.max
    ) {
      const between = range.min + (range.max - range.min) * 0.3719;
      if (
        !Number.isInteger(between) &&
        refusal(name, between) !== undefined &&
        refusal(name, Math.round(between)) === undefined
      ) {
        issues.push({ path: [name, 'integer'], message: `${name} takes whole numbers: set "integer": true` });
      }
    }
  }
  return issues;
}
