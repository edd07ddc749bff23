/**
 * What the terminal says about each stage and decision of the runs a worker hosts, in the stages'
 * own names (`LifecycleStage`, `monitor` for the nightly check, `BatchScoringStage`): one line per
 * finished stage (`train      done in 4.1 s (gbdt, 200 iterations, validation rmse 1.02)`), per
 * decision (`awaiting-approval  approved by shop-manager`) and per refusal (`evaluate   quality
 * gate failed: ...`), worked out from an activity's input and result. Pure: `terminal.ts` calls it.
 */
import type { createActivities } from '../activities';
import { isShownMetric } from '../ml/metrics';
import type { BatchScoringStage } from '../workflows/batchScoringTypes';
import type { LifecycleStage } from '../workflows/lifecycleTypes';
import { isExpectedRefusal, property, refusalText, type Subject } from './refusals';

type Activities = ReturnType<typeof createActivities>;
type ActivityName = Extract<keyof Activities, string>;

/** A stage as the terminal names it: the lifecycle's, the nightly check's, batch scoring's. */
export type StageName = LifecycleStage | 'monitor' | BatchScoringStage;

/**
 * The stage each activity belongs to, as the workflow names it with `enter('<stage>')` (the table
 * in ARCHITECTURE.md). A new stage's activity gets its line here; one missing is logged to the file only.
 */
export const ACTIVITY_STAGES: { [K in ActivityName]?: StageName } = {
  ingestSnapshot: 'ingest',
  validateSnapshot: 'validate',
  registerVersion: 'register',
  markVersionFailed: 'failed',
  recordAuditEvent: 'awaiting-approval',
  buildFeatures: 'features',
  planTuning: 'tune',
  tuneTrial: 'tune',
  recordTuning: 'tune',
  trainModel: 'train',
  evaluateCandidate: 'evaluate',
  checkFairness: 'fairness',
  packageCandidate: 'security',
  checkDecisions: 'awaiting-approval',
  recordDecision: 'awaiting-approval',
  supersedeOlderCandidates: 'awaiting-approval',
  endIfSuperseded: 'superseded',
  deployVersion: 'deploy',
  rollbackProduction: 'rolled-back',
  collectOutcomes: 'monitor',
  checkProductionModel: 'monitor',
  planRetraining: 'monitor',
  pendingApprovals: 'monitor',
  planBatchScoring: 'planning',
  scoreBatchChunk: 'scoring',
  finishBatchScoring: 'finishing',
};

/** What a line says; the stage is the activity's unless it names another. */
export interface StageLine {
  text: string;
  stage?: StageName;
  /** `warn` for a refusal or a delivery that failed. @default 'info' */
  level?: 'info' | 'warn';
  /** An expected refusal: one line, no trace. */
  refusal?: boolean;
  /** Kept in the file only: the next line says more (an accepted code before the decision). */
  fileOnly?: boolean;
}

interface Call<K extends ActivityName> {
  input: Parameters<Activities[K]>[0];
  result: Awaited<ReturnType<Activities[K]>>;
  seconds: number;
  /** The workflow that called it. */
  workflowId: string | undefined;
}

type Describer<K extends ActivityName> = (call: Call<K>) => StageLine | StageLine[] | undefined;

/** `4.1 s`, `12 s`, `250 ms`. */
export function duration(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  return seconds < 10 ? `${seconds.toFixed(1)} s` : `${Math.round(seconds)} s`;
}

/** A metric or loss with three significant digits. */
function shown(value: number): string {
  return String(Number(value.toPrecision(3)));
}

const count = (value: number) => value.toLocaleString('en-US');

/** `2026-06-04 10:42`: an ISO time in the terminal's local time, to the minute, as its clock column. */
export function localMinute(iso: string): string {
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) return iso;
  const two = (value: number) => String(value).padStart(2, '0');
  return `${time.getFullYear()}-${two(time.getMonth() + 1)}-${two(time.getDate())} ${two(time.getHours())}:${two(time.getMinutes())}`;
}

/** At most `limit` characters, cut with an ellipsis. */
function cut(text: string, limit = 240): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

/** The validation loss in the words people know: the root of a squared error, a log loss. */
function validationLoss(summary: { loss: string; validationLoss?: number }): string | undefined {
  const loss = summary.validationLoss;
  if (loss === undefined || !Number.isFinite(loss)) return undefined;
  if (summary.loss === 'squared_error') return `validation rmse ${shown(Math.sqrt(loss))}`;
  if (summary.loss === 'absolute_error') return `validation mae ${shown(loss)}`;
  return `validation log loss ${shown(loss)}`;
}

/** A stage's gates: `quality gate passed`, or the failed checks. */
function verdictsText(outcome: {
  verdict: { gate: string; passed: boolean; checks: { judged: boolean; passed: boolean; message: string }[] };
  verdicts?: {
    gate: string;
    passed: boolean;
    checks: { judged: boolean; passed: boolean; message: string }[];
  }[];
}): string {
  return (outcome.verdicts ?? [outcome.verdict])
    .map((verdict) => {
      if (verdict.passed) return `${verdict.gate} gate passed`;
      const failed = verdict.checks.filter((check) => check.judged && !check.passed);
      return `${verdict.gate} gate failed: ${failed.map((check) => check.message).join('; ')}`;
    })
    .join('; ');
}

/** `rmse 1.05, mape 0.07, r2 0.95`: the metrics people read, a few. */
function metricsText(metrics: Record<string, number>, limit = 4): string {
  return Object.entries(metrics)
    .filter(([name, value]) => isShownMetric(name) && typeof value === 'number' && Number.isFinite(value))
    .slice(0, limit)
    .map(([name, value]) => `${name} ${shown(value)}`)
    .join(', ');
}

const DESCRIBERS: { [K in ActivityName]?: Describer<K> } = {
  ingestSnapshot: ({ result, seconds }) => ({
    text: `done in ${duration(seconds)} (${count(result.rows)} rows, snapshot ${result.sha256.slice(0, 8)})`,
  }),
  validateSnapshot: ({ result, seconds }) => ({
    text:
      result.warnings.length === 0
        ? `done in ${duration(seconds)}`
        : cut(
            `done in ${duration(seconds)}, ${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'}: ${result.warnings.join('; ')}`,
          ),
  }),
  registerVersion: ({ result, seconds, workflowId }) => {
    if (result.revision) {
      return {
        text: `version ${result.version} already made from this model and data; this spec is its revision ${result.revision.revision} (${result.revision.fields.join(', ')}), applied without retraining`,
        stage: 'unchanged',
      };
    }
    if (!result.created && result.runId !== workflowId && result.status !== 'failed') {
      return {
        text: `version ${result.version} was already made from this spec and data (status ${result.status}, run ${result.runId})`,
        stage: 'unchanged',
      };
    }
    return { text: `version ${result.version} registered in ${duration(seconds)}` };
  },
  buildFeatures: ({ result, seconds }) => ({
    text: `done in ${duration(seconds)} (${count(result.rows)} rows)`,
  }),
  // The stage's one line: its trials ran as activities of their own (those are in the file).
  recordTuning: ({ result }) => ({
    text:
      `${count(result.trialsRun)} trial runs of ${count(result.trials)} trials in ${duration(result.seconds)}` +
      (result.chosenTrial === undefined
        ? ", none scored: the spec's own parameters"
        : `, chosen trial ${result.chosenTrial} (${result.metric} ${Number((result.score ?? 0).toPrecision(4))} on the folds)`) +
      (result.stoppedByBudget > 0 ? `; ${count(result.stoppedByBudget)} stopped by the budget` : ''),
  }),
  trainModel: ({ result, seconds }) => {
    const summary = result.summary;
    const details = [
      summary.trainer,
      summary.iterations > 0 ? `${count(summary.iterations)} iterations` : undefined,
      validationLoss(summary),
    ].filter((part) => part !== undefined);
    return { text: `done in ${duration(seconds)} (${details.join(', ')})` };
  },
  evaluateCandidate: ({ result }) => {
    const metrics = metricsText(result.metrics);
    const champion = result.champion?.comparable ? `; champion v${result.champion.version}` : '';
    return { text: `${verdictsText(result)}${metrics ? ` (test ${metrics}${champion})` : ''}` };
  },
  checkFairness: ({ result }) => ({ text: verdictsText(result) }),
  packageCandidate: ({ result }) => ({
    text: `${verdictsText(result)}, manifest signed, model card ${result.cardKey}`,
  }),
  announce: ({ input, result }) => {
    const lines: StageLine[] = [];
    const approvers = Array.isArray(input.approvers) ? input.approvers.map(String).join(', ') : undefined;
    const deadline = typeof input.deadlineAt === 'string' ? localMinute(input.deadlineAt) : undefined;
    if (input.event === 'approval-requested') {
      lines.push({
        stage: 'awaiting-approval',
        text: `by ${approvers ?? 'the approvers'}${deadline ? ` until ${deadline}` : ''}`,
      });
    } else if (input.event === 'approval-reminder') {
      lines.push({
        stage: 'awaiting-approval',
        text: `reminder sent to ${approvers ?? 'the approvers'}${deadline ? `: the deadline is ${deadline}` : ''}`,
      });
    } else if (input.event === 'canary-promoted' || input.event === 'canary-aborted') {
      lines.push({ stage: 'deploy', text: input.event.replace('-', ' ') });
    }
    if (result.failed > 0) {
      lines.push({
        level: 'warn',
        stage: lines[0]?.stage,
        text: `announcement ${input.event}: ${result.failed} webhook${result.failed === 1 ? '' : 's'} did not take it (delivered to ${result.delivered})`,
      });
    }
    return lines;
  },
  checkDecisions: ({ result }) => {
    const refused = result.refusals.slice(0, 3).map((refusal): StageLine => ({
      text: `decision refused (${refusal.via} from ${refusal.actor}): ${refusal.reason}`,
      level: 'warn',
      refusal: true,
    }));
    if (result.refusals.length > refused.length) {
      refused.push({
        text: `and ${result.refusals.length - refused.length} more decisions refused`,
        level: 'warn',
        refusal: true,
      });
    }
    const accepted = result.accepted
      ? [{ text: `${result.accepted.action} code of ${result.accepted.user} accepted`, fileOnly: true }]
      : [];
    return [...refused, ...accepted];
  },
  recordDecision: ({ input }) => {
    const comment = input.comment ? `: "${cut(input.comment, 120)}"` : '';
    if (input.expired)
      return { text: `rejected: ${input.comment ?? 'nobody decided within the approval deadline'}` };
    return { text: `${input.decision} by ${input.approver}${comment}` };
  },
  recordAuditEvent: ({ input }) => {
    const reason = (key: string) => {
      const value = input.details[key];
      return typeof value === 'string' ? value : undefined;
    };
    if (input.action === 'run-input-refused') {
      return {
        stage: 'failed',
        text: `input refused: ${reason('message') ?? 'see the audit log'}`,
        level: 'warn',
        refusal: true,
      };
    }
    if (input.action === 'approval-refused') {
      return {
        text: `decision refused (from ${input.actor}): ${reason('reason') ?? 'see the audit log'}`,
        level: 'warn',
        refusal: true,
      };
    }
    return { text: `audit: ${input.action}`, fileOnly: true };
  },
  supersedeOlderCandidates: ({ result }) =>
    result.length === 0
      ? undefined
      : { text: `supersedes the waiting candidate${result.length === 1 ? '' : 's'} v${result.join(', v')}` },
  endIfSuperseded: ({ result }) =>
    result.by === undefined ? undefined : { text: `superseded by version ${result.by}, a newer candidate` },
  markVersionFailed: ({ input }) => ({
    // The run's failure is said once, by the worker's "run failed" line; this is the registry's side.
    text: `version marked failed at ${input.stage}: ${input.reason}`,
    fileOnly: true,
  }),
  deployVersion: ({ result, seconds }) => ({
    text: `deployed in ${duration(seconds)}: ${result.alias} is version ${result.version}`,
  }),
  rollbackProduction: ({ input, result }) => ({
    text: `production moved back from version ${result.from} to ${result.to} by ${input.actor}${input.reason ? `: ${input.reason}` : ''}`,
  }),
  collectOutcomes: ({ result }) => {
    if (!result) return undefined;
    if (result.refused) return { text: `outcomes not read: ${result.refused}`, level: 'warn', refusal: true };
    return {
      text: `outcomes from SQL: ${count(result.recorded)} recorded, ${count(result.matched)} matched a prediction, ${count(result.skipped)} skipped`,
    };
  },
  checkProductionModel: ({ result, seconds }) => {
    if (result.version === null) return { text: 'nothing in production to check' };
    const seen = `${count(result.predictions)} predictions, ${count(result.labelled)} with outcomes`;
    if (result.stale)
      return { text: cut(`stale (${seen}): ${result.staleReasons.join('; ')}`), level: 'warn' };
    const alarms = result.alarms.length > 0 ? `alarms: ${result.alarms.join('; ')}` : 'no alarm';
    return { text: cut(`checked in ${duration(seconds)} (${seen}): ${alarms}`) };
  },
  planRetraining: ({ result }) =>
    result.kind === 'none'
      ? { text: result.reason, fileOnly: true }
      : { text: `${result.kind}: ${result.reason}` },
  pendingApprovals: ({ result }) => ({ text: `${result.length} candidates waiting`, fileOnly: true }),
  planBatchScoring: ({ result, seconds }) => ({
    text: `${count(result.rows)} rows staged for ${result.into} in ${duration(seconds)}`,
  }),
  scoreBatchChunk: ({ result }) => ({
    text: `chunk ${result.chunk}: ${count(result.rows)} rows${result.alreadyScored ? ' (already scored)' : ''}`,
    fileOnly: true,
  }),
  finishBatchScoring: ({ result }) => ({ stage: 'scored', text: `${count(result.rows)} rows scored` }),
};

/** The lines a finished activity makes; none when it has nothing to say (or is not a stage's). */
export function describeCompletion(
  activity: string,
  call: { input: unknown; result: unknown; seconds: number; workflowId?: string },
): (StageLine & { stage: StageName | undefined })[] {
  const describe = DESCRIBERS[activity as ActivityName] as
    | ((call: {
        input: unknown;
        result: unknown;
        seconds: number;
        workflowId: string | undefined;
      }) => StageLine | StageLine[] | undefined)
    | undefined;
  const stage = ACTIVITY_STAGES[activity as ActivityName];
  if (!describe) return [{ stage, text: `${activity} done in ${duration(call.seconds)}`, fileOnly: true }];
  const described = describe({ ...call, workflowId: call.workflowId });
  const lines = described === undefined ? [] : Array.isArray(described) ? described : [described];
  return lines.map((line) => ({ ...line, stage: line.stage ?? stage }));
}

/** The line of an activity that threw: a refusal's own words, or the attempt that broke. */
export function describeFailure(
  activity: string,
  error: unknown,
  context: { attempt: number; subject: Subject },
): StageLine & { stage: StageName | undefined } {
  const stage = ACTIVITY_STAGES[activity as ActivityName];
  if (isExpectedRefusal(error)) {
    return { stage, text: refusalText(error, context.subject), level: 'warn', refusal: true };
  }
  const message = property(error, 'message');
  return {
    stage,
    text: `${activity} attempt ${context.attempt} failed: ${typeof message === 'string' ? message : String(error)}`,
    level: 'warn',
  };
}

/** `snapshots/<pipeline>/<sha256>.json` (`snapshotRecordKey`): the pipeline a heavy stage works on. */
export function pipelineOfSnapshotRecord(recordKey: unknown): string | undefined {
  if (typeof recordKey !== 'string') return undefined;
  return /^snapshots\/([^/]+)\/[^/]+\.json$/.exec(recordKey)?.[1];
}

/** What an activity's input (and result) say about the model and version it works on. */
export function subjectOf(activity: string, input: unknown, result?: unknown): Subject {
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const number = (value: unknown) =>
    typeof value === 'number' && Number.isInteger(value) ? value : undefined;
  const model =
    text(property(input, 'pipeline')) ??
    text(property(input, 'model')) ??
    text(property(property(input, 'spec'), 'name')) ??
    pipelineOfSnapshotRecord(property(property(input, 'snapshot'), 'recordKey')) ??
    text(property(property(result, 'spec'), 'name')) ??
    text(property(result, 'model'));
  // A result names the version where the input cannot: the registry's answer, the nightly check's.
  const fromResult =
    activity === 'registerVersion' || activity === 'checkProductionModel' || activity === 'planBatchScoring'
      ? number(property(result, 'version'))
      : undefined;
  const version = number(property(input, 'version')) ?? fromResult;
  return { ...(model ? { model } : {}), ...(version !== undefined ? { version } : {}) };
}
