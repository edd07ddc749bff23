/**
 * Outcomes: what actually happened (the booked cut time, the real scrap), arriving hours or days
 * after the prediction. Each names its prediction by id, or by a business key (a job id) that the
 * caller gave with the request; `serving.labelled_predictions` joins them. One outcome per
 * prediction id and per key: sending one again replaces it (a correction). `POST /v1/outcomes`
 * comes through {@link parseOutcomesRequest}; a bulk path from SQL is in `outcomeQuery.ts`.
 */
import type pg from 'pg';
import type { TaskKind } from '../ml/model';
import { getModel, RegistryError } from '../registry';
import { inTransaction } from '../platform/database';
import { type FieldIssue, invalidInput, ServingHttpError } from './errors';
import { describe, isPlainObject, MAX_KEY_LENGTH } from './payload';

/** One outcome: the prediction it belongs to and the actual value. */
export interface OutcomeInput {
  /** The `predictionId` the API answered with. */
  predictionId?: string;
  /** The business key sent with the prediction (a job id). */
  key?: string;
  /** A number for a regression model, the class label for a classifier. */
  actual: number | string;
  /** When it happened. @default now */
  observedAt?: Date;
}

/** The longest class label accepted, in characters. */
export const MAX_LABEL_LENGTH = 200;

/**
 * Of these prediction ids, the ones the model answered (logged, or still waiting to be logged); an
 * outcome for any other id would join nothing, so it is refused.
 */
export type KnownPredictions = (model: string, predictionIds: readonly string[]) => Promise<Set<string>>;

/** The most outcomes one request may carry. */
export const MAX_OUTCOMES_PER_REQUEST = 10_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const OUTCOME_FIELDS = ['predictionId', 'key', 'actual', 'observedAt'];

/**
 * Checks the body of `POST /v1/outcomes`: `{ "model": "...", "outcomes": [ {...} ] }` or
 * `{ "model": "...", "outcome": {...} }`.
 *
 * @param taskOf the task of a registered model (throws `RegistryError` `not-found` for others)
 * @param knownPredictions which of the named prediction ids the model answered
 * @throws ServingHttpError: 400 listing each bad field (a prediction id the model never answered
 *   included), 404 for a model the registry does not know
 */
export async function parseOutcomesRequest(
  body: unknown,
  taskOf: (model: string) => Promise<TaskKind>,
  knownPredictions: KnownPredictions,
): Promise<{ model: string; outcomes: OutcomeInput[] }> {
  if (!isPlainObject(body)) {
    throw invalidInput([
      { field: 'body', reason: 'must be a JSON object: {"model": "...", "outcomes": [...]}' },
    ]);
  }
  const issues: FieldIssue[] = [];
  for (const name of Object.keys(body)) {
    if (!['model', 'outcomes', 'outcome'].includes(name)) {
      issues.push({ field: name, reason: 'is not a field of an outcomes request: use model and outcomes' });
    }
  }
  if (typeof body.model !== 'string' || body.model === '') {
    issues.push({
      field: 'model',
      reason: `must be the model's name (e.g. "cut-time"), got ${describe(body.model)}`,
    });
  }
  const list: unknown[] | undefined =
    body.outcomes !== undefined ? (Array.isArray(body.outcomes) ? body.outcomes : undefined) : undefined;
  const field = body.outcome !== undefined && body.outcomes === undefined ? 'outcome' : 'outcomes';
  const items = field === 'outcome' ? [body.outcome] : list;
  if (body.outcome !== undefined && body.outcomes !== undefined) {
    issues.push({ field: 'outcome', reason: 'give either outcomes (a list) or outcome (one), not both' });
  } else if (!items || items.length === 0) {
    issues.push({ field: 'outcomes', reason: 'must be a non-empty list of {predictionId or key, actual}' });
  } else if (items.length > MAX_OUTCOMES_PER_REQUEST) {
    issues.push({
      field: 'outcomes',
      reason: `holds ${items.length} outcomes, more than ${MAX_OUTCOMES_PER_REQUEST} per request: split it, or use recordOutcomesFromQuery`,
    });
  }
  if (issues.length > 0) throw invalidInput(issues);
  const model = body.model as string;
  let task: TaskKind;
  try {
    task = await taskOf(model);
  } catch (error) {
    if (error instanceof RegistryError && (error.kind === 'not-found' || error.kind === 'invalid-input')) {
      throw new ServingHttpError(404, 'model-not-found', `model: ${error.message}`);
    }
    throw error;
  }
  const outcomes = (items as unknown[]).map((item, index) =>
    parseOutcome(item, field === 'outcome' ? 'outcome' : `outcomes[${index}]`, task, issues),
  );
  if (issues.length > 0) throw invalidInput(issues);
  const named = [...new Set(outcomes.flatMap((outcome) => outcome.predictionId ?? []))];
  const known = named.length > 0 ? await knownPredictions(model, named) : new Set<string>();
  outcomes.forEach((outcome, index) => {
    if (outcome.predictionId === undefined || known.has(outcome.predictionId)) return;
    issues.push({
      field: `${field === 'outcome' ? 'outcome' : `outcomes[${index}]`}.predictionId`,
      reason: `names no prediction of ${model}: send the predictionId the API answered with (or the key sent with the row)`,
    });
  });
  if (issues.length > 0) throw invalidInput(issues);
  return { model, outcomes };
}

function parseOutcome(item: unknown, at: string, task: TaskKind, issues: FieldIssue[]): OutcomeInput {
  const outcome: OutcomeInput = { actual: Number.NaN };
  if (!isPlainObject(item)) {
    issues.push({
      field: at,
      reason: `must be an object {predictionId or key, actual}, got ${describe(item)}`,
    });
    return outcome;
  }
  for (const name of Object.keys(item)) {
    if (!OUTCOME_FIELDS.includes(name)) {
      issues.push({
        field: `${at}.${name}`,
        reason: `is not a field of an outcome: use ${OUTCOME_FIELDS.join(', ')}`,
      });
    }
  }
  const { predictionId, key, actual, observedAt } = item;
  if (predictionId !== undefined && predictionId !== null) {
    if (typeof predictionId === 'string' && UUID.test(predictionId))
      outcome.predictionId = predictionId.toLowerCase();
    else
      issues.push({
        field: `${at}.predictionId`,
        reason: `must be a prediction id (a UUID), got ${describe(predictionId)}`,
      });
  }
  if (key !== undefined && key !== null) {
    if (typeof key === 'number' && Number.isSafeInteger(key)) outcome.key = String(key);
    else if (typeof key === 'string' && key !== '' && key.length <= MAX_KEY_LENGTH) outcome.key = key;
    else
      issues.push({
        field: `${at}.key`,
        reason: `must be text (1 to ${MAX_KEY_LENGTH} characters) or a whole number, got ${describe(key)}`,
      });
  }
  if (
    outcome.predictionId === undefined &&
    outcome.key === undefined &&
    predictionId == null &&
    key == null
  ) {
    issues.push({
      field: `${at}.predictionId`,
      reason: 'is missing, and so is key: name the prediction by one of them',
    });
  }
  if (task === 'regression') {
    if (typeof actual === 'number' && Number.isFinite(actual)) outcome.actual = actual;
    else
      issues.push({
        field: `${at}.actual`,
        reason: `must be a finite number (the model is a regression), got ${describe(actual)}`,
      });
  } else if (
    (typeof actual === 'string' && actual !== '' && actual.length <= MAX_LABEL_LENGTH) ||
    (typeof actual === 'number' && Number.isFinite(actual)) ||
    typeof actual === 'boolean'
  ) {
    outcome.actual = String(actual);
  } else {
    issues.push({
      field: `${at}.actual`,
      reason: `must be the class label (1 to ${MAX_LABEL_LENGTH} characters; the model is a ${task} classifier), got ${describe(actual)}`,
    });
  }
  if (observedAt !== undefined && observedAt !== null) {
    const time = typeof observedAt === 'string' ? new Date(observedAt) : undefined;
    // Years PostgreSQL's timestamptz and toISOString agree on (year 0, say, is a PostgreSQL error).
    const year = time?.getUTCFullYear() ?? Number.NaN;
    if (time && /^\d{4}-\d{2}-\d{2}T/.test(observedAt as string) && year >= 1900 && year <= 9999)
      outcome.observedAt = time;
    else
      issues.push({
        field: `${at}.observedAt`,
        reason: `must be an ISO 8601 date-time from 1900 to 9999 such as 2025-03-01T14:30:00Z, got ${describe(observedAt)}`,
      });
  }
  return outcome;
}

const UPSERT_SET = `DO UPDATE SET key = EXCLUDED.key, actual_value = EXCLUDED.actual_value,
  actual_label = EXCLUDED.actual_label, observed_at = EXCLUDED.observed_at, recorded_at = now()`;

/**
 * Records outcomes of a model; an outcome for a prediction id or key already recorded replaces it.
 * Within one call the last outcome for a prediction id or key wins.
 *
 * @returns how many outcomes were written
 */
export async function recordOutcomes(
  pool: pg.Pool,
  model: string,
  outcomes: readonly OutcomeInput[],
): Promise<{ recorded: number }> {
  const byId = new Map<string, OutcomeInput>();
  const byKey = new Map<string, OutcomeInput>();
  for (const outcome of outcomes) {
    if (outcome.predictionId !== undefined) byId.set(outcome.predictionId, outcome);
    else if (outcome.key !== undefined) byKey.set(outcome.key, outcome);
    else throw new Error('An outcome names no prediction: give predictionId or key');
  }
  const now = new Date();
  const columns = (list: OutcomeInput[]) => [
    model,
    list.map((outcome) => outcome.predictionId ?? null),
    list.map((outcome) => outcome.key ?? null),
    list.map((outcome) => (typeof outcome.actual === 'number' ? outcome.actual : null)),
    list.map((outcome) => (typeof outcome.actual === 'string' ? outcome.actual : null)),
    list.map((outcome) => (outcome.observedAt ?? now).toISOString()),
  ];
  const insert = `INSERT INTO serving.outcomes (model, prediction_id, key, actual_value, actual_label, observed_at)
    SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::float8[], $5::text[], $6::timestamptz[])`;
  await inTransaction(pool, async (client) => {
    if (byId.size > 0) {
      await client.query(
        `${insert} ON CONFLICT (model, prediction_id) WHERE prediction_id IS NOT NULL ${UPSERT_SET}`,
        columns([...byId.values()]),
      );
    }
    if (byKey.size > 0) {
      await client.query(
        `${insert} ON CONFLICT (model, key) WHERE prediction_id IS NULL ${UPSERT_SET}`,
        columns([...byKey.values()]),
      );
    }
  });
  return { recorded: byId.size + byKey.size };
}

/** The task of a registered model, for checking outcomes' types. */
export async function modelTask(pool: pg.Pool, model: string): Promise<TaskKind> {
  return (await getModel(pool, model)).task;
}
