/**
 * The spec's history features: per-entity lags, rolling statistics and time since the previous
 * event (`lifecycle/features/history/`), written with durations, and every way one could look at
 * the row's own target or a later one refused at its field (`history[2].window: ...`).
 */
import { z } from 'zod';
import { isBareName } from '../features/expression';
import {
  HISTORY_STATS,
  type HistoryColumnRequest,
  type HistoryDefinition,
  MAX_HISTORY_EVENTS,
  MAX_HISTORY_FEATURES,
  MAX_HISTORY_KEYS,
  MAX_HISTORY_LAG,
  MAX_HISTORY_SPAN_MS,
  SINCE_UNITS_MS,
} from '../features/history';
import type { FeatureBuildRequest } from '../features/table';
import { columnName, isRecord, parseDuration, strictObject, UNITS_MS, whenGiven } from './syntax';

/** What `of` says to read the spec's target, whatever its column is called. */
export const TARGET_REFERENCE = 'target';

const MAX_SPAN_DAYS = MAX_HISTORY_SPAN_MS / UNITS_MS.d;
const DURATION_WORDS = 'a duration such as 28d, 4w or 12h (units s, m, h, d, w)';

/** A duration of zero length written with units (`0d`), which parseDuration does not accept. */
const isZeroDuration = (text: string) => /^(0+[smhdw])+$/.test(text);

/** Why a window is refused, or undefined when it is a positive duration within the limit. */
function windowProblem(text: string): string | undefined {
  if (text.trim().startsWith('-')) {
    return `"${text}" is negative, which would reach past the row into its future: a window reaches back from each row; write ${DURATION_WORDS}`;
  }
  if (isZeroDuration(text)) {
    return `"${text}" is empty: a window of zero length could only hold the row's own time, which history never reads; write ${DURATION_WORDS}, or use lag 1 for the previous event`;
  }
  const ms = parseDuration(text);
  if (ms === undefined) return `must be ${DURATION_WORDS}`;
  if (ms > MAX_HISTORY_SPAN_MS) return `"${text}" is longer than ${MAX_SPAN_DAYS}d; use a shorter window`;
  return undefined;
}

/** Why a gap is refused, or undefined when it is zero or a positive duration within the limit. */
function gapProblem(text: string): string | undefined {
  if (text.trim().startsWith('-')) {
    return `"${text}" is negative, which would move the cut-off after the row's own time, into its future: write 0d for none, or the forecast horizon (e.g. 7d) so a feature sees only what the forecast would have seen`;
  }
  if (isZeroDuration(text)) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined) return `must be ${DURATION_WORDS}, or 0d for none`;
  if (ms > MAX_HISTORY_SPAN_MS) return `"${text}" is longer than ${MAX_SPAN_DAYS}d; use a shorter gap`;
  return undefined;
}

const KIND_WORDS =
  'lag (the k-th previous event), stat with window or events (a rolling statistic), or since (the time since the previous event)';

export const historyFeatureSchema = strictObject({
  /** The new column's name: letters, digits and `_`, not starting with a digit (`orders_customer_28d`). */
  name: z
    .string()
    .max(63, 'must be at most 63 characters')
    .refine(
      isBareName,
      'must be a name of letters, digits and _ that does not start with a digit and is not and, or, not or in, such as orders_customer_28d',
    ),
  /**
   * The column whose earlier values are read: `"target"` for the spec's target, or a numeric column
   * of the source. Not with `since`, which reads only times.
   */
  of: columnName.optional(),
  /** The key columns that together name an entity (a customer, a machine): each row reads its own entity's rows. */
  by: z
    .array(columnName, {
      error: (issue) => whenGiven(issue, 'must be a list of key columns, e.g. ["customer_id"]'),
    })
    .min(1, 'must name at least one key column, e.g. ["customer_id"]')
    .max(MAX_HISTORY_KEYS, `must name at most ${MAX_HISTORY_KEYS} key columns`),
  /** The value of the `lag`-th previous event (1 = the latest before the row). */
  lag: z
    .number({ error: (issue) => whenGiven(issue, 'must be a whole number of events, e.g. 1') })
    .optional(),
  /** A rolling statistic over `window` or the last `events` events before the row. */
  stat: z
    .enum(HISTORY_STATS, {
      error: (issue) => whenGiven(issue, `must be one of: ${HISTORY_STATS.join(', ')}`),
    })
    .optional(),
  /** With `stat`: how far back the window reaches from each row, e.g. `28d`, `4w`, `12h`. */
  window: z.string().max(32, `must be ${DURATION_WORDS}`).optional(),
  /** With `stat`, instead of `window`: the last this many events before the row. */
  events: z
    .number({ error: (issue) => whenGiven(issue, 'must be a whole number of events, e.g. 10') })
    .optional(),
  /** The time since the entity's previous event, in days or hours. */
  since: z
    .enum(['days', 'hours'], { error: (issue) => whenGiven(issue, 'must be "days" or "hours"') })
    .optional(),
  /**
   * Leaves out the latest stretch before each row: the feature is computed as of `t - gap`, so a
   * forecast `gap` ahead uses only what it would have had (`7d` for a one-week horizon).
   * @default undefined (no gap: everything strictly before the row's time)
   */
  gap: z.string().max(32, `must be ${DURATION_WORDS}, or 0d for none`).optional(),
}).superRefine((feature, ctx) => {
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: 'custom', path, message });
  const kinds = (['lag', 'stat', 'since'] as const).filter((key) => feature[key] !== undefined);
  const [kind, second] = kinds;
  if (kind === undefined) issue([], `must say what to compute: ${KIND_WORDS}`);
  if (kind !== undefined && second !== undefined) {
    issue(
      [second],
      `"${kind}" and "${second}" cannot go together; one history feature computes one of ${KIND_WORDS}`,
    );
  }
  // lag 0 is refused across fields (historyCrossCheck), where the target's column name is known.
  if (feature.lag !== undefined) {
    const lag = feature.lag;
    if (!Number.isInteger(lag)) issue(['lag'], 'must be a whole number of events, e.g. 1');
    else if (lag < 0) {
      issue(
        ['lag'],
        `${lag} would read a later event, the row's future: lag 1 is the previous event, 2 the one before`,
      );
    } else if (lag > MAX_HISTORY_LAG) issue(['lag'], `must be at most ${MAX_HISTORY_LAG}`);
  }
  if (feature.stat !== undefined && feature.window === undefined && feature.events === undefined) {
    issue(['window'], `required with stat: ${DURATION_WORDS}, or events: N for the last N events`);
  }
  if (feature.window !== undefined && feature.events !== undefined) {
    issue(
      ['events'],
      'window and events cannot go together: a window reaches back a time, or over a number of events',
    );
  }
  for (const key of ['window', 'events'] as const) {
    // Without any kind the message above says what to write; with lag or since these do not belong.
    if (feature[key] !== undefined && feature.stat === undefined && kind !== undefined) {
      issue([key], `only applies with stat (${HISTORY_STATS.join(', ')})`);
    }
  }
  if (feature.window !== undefined) {
    const problem = windowProblem(feature.window);
    if (problem) issue(['window'], problem);
  }
  if (feature.events !== undefined) {
    const events = feature.events;
    if (!Number.isInteger(events)) issue(['events'], 'must be a whole number of events, e.g. 10');
    else if (events < 1) {
      issue(
        ['events'],
        `${events} holds no earlier event and would have to count the row itself or later ones: use 1 or more`,
      );
    } else if (events > MAX_HISTORY_EVENTS) issue(['events'], `must be at most ${MAX_HISTORY_EVENTS}`);
  }
  if (feature.gap !== undefined) {
    const problem = gapProblem(feature.gap);
    if (problem) issue(['gap'], problem);
  }
  if ((feature.lag !== undefined || feature.stat !== undefined) && feature.of === undefined) {
    issue(['of'], `required: "${TARGET_REFERENCE}" for the spec's target, or a numeric column`);
  }
  if (feature.since !== undefined && feature.of !== undefined) {
    issue(['of'], "since measures the time since the entity's previous row, whatever its values: remove of");
  }
  const seen = new Map<string, number>();
  feature.by.forEach((key, index) => {
    const first = seen.get(key);
    if (first !== undefined) issue(['by', index], `"${key}" is listed twice, at by[${first}]`);
    else seen.set(key, index);
  });
});

export type HistoryFeatureSpec = z.output<typeof historyFeatureSchema>;

/**
 * The spec's `history` list, at most MAX_HISTORY_FEATURES long. Its length is checked before its
 * entries: a hostile list of a hundred thousand bad entries is one problem, not a hundred thousand.
 */
export const historySchema = z
  .array(z.unknown())
  .max(MAX_HISTORY_FEATURES, `must hold at most ${MAX_HISTORY_FEATURES} history features`)
  .pipe(z.array(historyFeatureSchema));

/** A checked history feature in numbers, for `historyValues`. */
export function historyDefinition(feature: HistoryFeatureSpec): HistoryDefinition {
  const gapMs =
    feature.gap === undefined || isZeroDuration(feature.gap) ? 0 : (parseDuration(feature.gap) ?? 0);
  if (feature.lag !== undefined) return { kind: 'lag', lag: feature.lag, gapMs };
  if (feature.since !== undefined) return { kind: 'since', unitMs: SINCE_UNITS_MS[feature.since], gapMs };
  if (feature.stat === undefined)
    throw new Error(`history feature "${feature.name}" has no lag, stat or since`);
  const window =
    feature.events !== undefined
      ? { kind: 'events' as const, count: feature.events }
      : { kind: 'time' as const, ms: parseDuration(feature.window ?? '') ?? 0 };
  return { kind: 'rolling', stat: feature.stat, window, gapMs };
}

/**
 * What to build for a checked spec's history features (`buildHistoryColumns`): `of: "target"`
 * resolved to the target's column, durations to milliseconds.
 */
export function historyColumnRequests(spec: {
  target: string;
  history?: readonly HistoryFeatureSpec[];
}): HistoryColumnRequest[] {
  return (spec.history ?? []).map((feature) => ({
    name: feature.name,
    ...(feature.of === undefined ? {} : { of: feature.of === TARGET_REFERENCE ? spec.target : feature.of }),
    by: feature.by,
    definition: historyDefinition(feature),
  }));
}

/**
 * What the features stage builds for a checked spec: its derived features, and its history
 * features over its time column (the spec check requires one with any history feature).
 */
export function featureBuildRequest(spec: {
  target: string;
  timeColumn?: string | undefined;
  derived?: FeatureBuildRequest['derived'] | undefined;
  history?: readonly HistoryFeatureSpec[] | undefined;
}): FeatureBuildRequest {
  const features = historyColumnRequests(spec);
  return {
    derived: spec.derived ?? [],
    ...(features.length > 0 && spec.timeColumn !== undefined
      ? { history: { timeColumn: spec.timeColumn, target: spec.target, features } }
      : {}),
  };
}

/** Whether a spec has features for the features stage to build (derived or history). */
export function buildsFeatures(spec: {
  derived?: readonly unknown[] | undefined;
  history?: readonly unknown[] | undefined;
}): boolean {
  return (spec.derived?.length ?? 0) > 0 || (spec.history?.length ?? 0) > 0;
}

/**
 * Checks of the history list against the rest of the spec: a time column to order the rows, names
 * unique across features, derived and history features, no lag 0 (the row's own value; of the
 * target, the answer itself), keys that are neither the target (grouping by it would tell each row
 * its own target) nor the time column, and no feature naming one yet.
 * Reads the spec defensively: it also runs when other fields failed.
 */
export function historyCrossCheck(
  value: Record<string, unknown>,
  issue: (path: (string | number)[], message: string) => void,
): void {
  const history = value.history;
  if (!Array.isArray(history) || history.length > MAX_HISTORY_FEATURES) return;
  const target = typeof value.target === 'string' ? value.target : undefined;
  const timeColumn = typeof value.timeColumn === 'string' ? value.timeColumn : undefined;
  if (history.length > 0 && value.timeColumn === undefined) {
    issue(
      ['timeColumn'],
      'required by the history features: they read, for each row, the rows before its time; name the date, timestamp or number column that orders the rows',
    );
  }
  const derivedAt = new Map<string, number>();
  if (Array.isArray(value.derived)) {
    value.derived.forEach((derived: unknown, index) => {
      if (isRecord(derived) && typeof derived.name === 'string' && !derivedAt.has(derived.name)) {
        derivedAt.set(derived.name, index);
      }
    });
  }
  const historyAt = new Map<string, number>();
  history.forEach((feature: unknown, index) => {
    if (!isRecord(feature)) return;
    const name = typeof feature.name === 'string' ? feature.name : undefined;
    if (name !== undefined) {
      const again = historyAt.get(name);
      const derived = derivedAt.get(name);
      if (again !== undefined)
        issue(['history', index, 'name'], `"${name}" is already a history feature at history[${again}]`);
      else historyAt.set(name, index);
      if (derived !== undefined)
        issue(['history', index, 'name'], `"${name}" is already derived at derived[${derived}]`);
      if (name === target)
        issue(['history', index, 'name'], `"${name}" is the target; give the history feature another name`);
      if (name === timeColumn) {
        issue(
          ['history', index, 'name'],
          `"${name}" is the time column; give the history feature another name`,
        );
      }
    }
    if (feature.lag === 0) {
      issue(
        ['history', index, 'lag'],
        feature.of === TARGET_REFERENCE || feature.of === target
          ? "0 is the row's own target, the very value the model predicts: use lag 1 for the previous event"
          : "0 is the row's own value, not its history: use lag 1 for the previous event, or list the column as a feature",
      );
    }
    if (timeColumn !== undefined && feature.of === timeColumn) {
      issue(
        ['history', index, 'of'],
        `"${timeColumn}" is the time column: use since for the time since the previous event`,
      );
    }
    if (Array.isArray(feature.by)) {
      feature.by.forEach((key: unknown, keyIndex) => {
        if (key === target) {
          issue(
            ['history', index, 'by', keyIndex],
            `"${String(key)}" is the target: grouping by it would tell each row its own target; group by entity columns such as customer_id`,
          );
        } else if (key === timeColumn) {
          issue(
            ['history', index, 'by', keyIndex],
            `"${timeColumn}" is the time column: rows at one time never see each other, so nothing would have a history; group by entity columns such as customer_id`,
          );
        }
      });
    }
  });
  if (Array.isArray(value.features)) {
    // A history feature is a number the features stage builds; the model takes it as one.
    value.features.forEach((feature: unknown, index) => {
      if (!isRecord(feature) || typeof feature.name !== 'string' || !historyAt.has(feature.name)) return;
      if (feature.kind !== 'numeric') {
        issue(
          ['features', index, 'kind'],
          `"${feature.name}" is a history feature, which is a number: list it as numeric`,
        );
      }
    });
  }
}
