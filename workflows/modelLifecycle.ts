/**
 * The model lifecycle: one durable run from the pipeline's data to a deployed, approved model.
 *
 * ingest -> validate -> register -> features (when the spec derives any) -> tune (when the spec
 * tunes) -> train -> evaluate (quality gate) -> fairness gate -> security
 * gate (signed manifest, model card) -> wait for a person's decision -> deploy -> stay open for a
 * rollback while the new version settles in.
 *
 * Every stage is an activity on the worker; only references (keys, hashes, small summaries) pass
 * through here. A failed gate, bad data or a tampered artifact fails the run with a non-retryable
 * error that says why (the activity has already written the audit row); a rejected or expired
 * approval completes it as `rejected`.
 *
 * Decisions (approve, reject, rollback) count only when the `checkDecisions` activity accepts the
 * one-time code they carry; anything else is refused, audited, and the run waits on: no Signal or
 * Update can fail a run. Runs recorded before that change (no `authenticated-decisions` marker)
 * replay the earlier path, which took a typed name.
 */
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import {
  announcing,
  dataMovement,
  evaluation,
  type HeavyActivity,
  quickIo,
  training,
} from './activityProfiles';
import { heavyQueueOf } from '../platform/taskQueues';
import { isStoppingError } from './stoppingErrors';
import { isShownMetric } from '../ml/metrics';
import {
  approveSignal,
  decideUpdate,
  rejectSignal,
  rollbackUpdate,
  statusQuery,
  supersededSignal,
} from './lifecycleMessages';
import type {
  ApprovalSignal,
  BuiltFeaturesRef,
  ChampionComparison,
  DecisionAnswer,
  DecisionRequest,
  LifecycleInput,
  LifecycleResult,
  LifecycleStage,
  LifecycleStatus,
  RollbackRequest,
  SpecRef,
  TuningRef,
  VerdictSummary,
} from './lifecycleTypes';
import { tuneStage } from './tuning';
import type { PipelineSpec } from '../lifecycle/spec/schema';
import type { GateVerdict } from '../lifecycle/gates/verdict';
import type { AcceptedDecision, DecisionCheckResult, PendingDecision } from '../access/decisionCodes';
import { CONTINUE_AFTER_SIGNALS, DECISION_BATCH, pendingDecision, REFUSALS_KEPT } from './decisionPayloads';

type Activities = ReturnType<typeof createActivities>;

/** The details of a GateFailedError: the failed verdict and what was measured. */
interface GateFailure {
  verdict: GateVerdict;
  metrics: Record<string, number>;
  champion: ChampionComparison;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The verdicts of a stage's gates; histories recorded before the gate registry carry only `verdict`. */
function stageVerdicts(outcome: { verdict: GateVerdict; verdicts?: GateVerdict[] }): GateVerdict[] {
  return outcome.verdicts ?? [outcome.verdict];
}

function summarise(verdict: GateVerdict): VerdictSummary {
  return {
    gate: verdict.gate,
    passed: verdict.passed,
    failed: verdict.checks.filter((check) => check.judged && !check.passed).map((check) => check.message),
  };
}

/**
 * What makes a run's input unusable before anything runs, if anything: anyone who reaches Temporal
 * may start a run with any JSON. `resume` is the run's own state, handed on when it continues as new
 * while waiting; a fresh start carrying one would skip ingest, training and the gates and show the
 * approver verdicts it made up.
 */
function inputProblem(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return 'the run input must be a JSON object with specHash (or spec), startedBy and approvalDeadlineMs: start the run with `kerf run <spec file>`';
  }
  const fields = input as Record<string, unknown>;
  const resume = fields.resume;
  if (resume !== undefined && resume !== null && workflowInfo().continuedFromExecutionRunId === undefined) {
    return 'resume: only a run that continued as new while waiting for approval carries it; start the run without resume';
  }
  const { startedBy } = fields;
  if (typeof startedBy !== 'string' || startedBy.trim() === '' || startedBy.length > MAX_NAME_LENGTH) {
    return `startedBy: give the name of the person or service that starts the run (text, 1 to ${MAX_NAME_LENGTH} characters)`;
  }
  const durations: [string, unknown, boolean][] = [
    ['approvalDeadlineMs', fields.approvalDeadlineMs, true],
    ['rollbackWindowMs', fields.rollbackWindowMs, false],
    ['trainingHeartbeatSeconds', fields.trainingHeartbeatSeconds, false],
  ];
  for (const [name, value, required] of durations) {
    if (value === undefined && !required) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_DURATION_MS) {
      return `${name}: give a positive number (at most ${MAX_DURATION_MS}), or leave it out for the spec's default`;
    }
  }
  const { heavyTaskQueue } = fields;
  if (
    heavyTaskQueue !== undefined &&
    (typeof heavyTaskQueue !== 'string' || !TASK_QUEUE_NAME.test(heavyTaskQueue))
  ) {
    return 'heavyTaskQueue: give a task queue name (text without control characters, at most 1000), or leave it out for the default';
  }
  return undefined;
}

/** Longest name a run's input may carry for who started it. */
const MAX_NAME_LENGTH = 200;
/** A year, in ms: longer than any approval deadline or rollback window a shop sets. */
const MAX_DURATION_MS = 366 * 24 * 3600 * 1000;
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const TASK_QUEUE_NAME = /^[^\u0000-\u001f\u007f]{1,1000}$/;

/** The spec a run recorded before specs travelled by hash carried in its input. */
function carriedSpec(input: LifecycleInput): { spec: PipelineSpec; specHash: string } {
  if (!input.spec || input.specHash === undefined)
    throw new Error('a run recorded before specs travelled by hash carries its spec and its specHash');
  return { spec: input.spec, specHash: input.specHash };
}

/** The run's state as Markdown for the Web UI's "Current Details". */
function currentDetails(status: LifecycleStatus, authenticated: boolean): string {
  const lines = [
    `**${status.pipeline}**: ${status.stage}${status.version ? `, version ${status.version}` : ''}`,
  ];
  const tuning = status.tuning;
  if (tuning && status.stage === 'tune') {
    const best = tuning.best
      ? `; best so far: trial ${tuning.best.trial}, ${Number(tuning.best.score.toPrecision(4))}`
      : '';
    lines.push(
      `Tuning: rung ${tuning.rung + 1} of ${tuning.rungs}, ${tuning.finished} trial runs finished of ${tuning.trials} trials drawn${best}`,
    );
  } else if (tuning?.chosen?.chosenTrial !== undefined) {
    lines.push(
      `Tuned: trial ${tuning.chosen.chosenTrial} of ${tuning.chosen.trials} chosen (${tuning.chosen.metric} ${Number((tuning.chosen.score ?? 0).toPrecision(4))} on the folds)`,
    );
  }
  if (status.metrics) {
    const shown = Object.entries(status.metrics)
      .filter(([name]) => isShownMetric(name))
      .map(([name, value]) => `${name} ${Number(value.toPrecision(4))}`);
    lines.push(`Test metrics: ${shown.join(', ')}`);
  }
  for (const verdict of status.verdicts) {
    lines.push(
      `- ${verdict.gate} gate: ${verdict.passed ? 'passed' : `**failed**: ${verdict.failed.join('; ')}`}`,
    );
  }
  if (status.cardKey)
    lines.push(`Model card: \`${status.cardKey}\` (kerf card ${status.pipeline} ${status.version ?? ''})`);
  if (status.stage === 'awaiting-approval' && status.approval && authenticated) {
    lines.push(
      `Approve: get a code with \`kerf approval-code <this run's id>\` (one of ${status.approval.approvers.join(', ')}), then Send a Signal \`approve\` with \`{"code": "kc_...", "comment": "..."}\``,
    );
  } else if (status.stage === 'awaiting-approval' && status.approval) {
    lines.push(
      `Approve: Send a Signal \`approve\` with \`{"approver": "<one of ${status.approval.approvers.join(', ')}>", "comment": "..."}\``,
    );
  }
  if (status.reason) lines.push(status.reason);
  return lines.join('\n\n');
}

export async function modelLifecycle(input: LifecycleInput): Promise<LifecycleResult> {
  const runId = workflowInfo().workflowId;
  const io = proxyActivities<Activities>(quickIo);
  // Only hostile or broken starts get here; no recorded history does, so replay is unchanged.
  const problem = inputProblem(input);
  if (problem) {
    await io.recordAuditEvent({
      actor: `run:${runId}`,
      action: 'run-input-refused',
      details: { stage: 'start', message: problem },
    });
    throw ApplicationFailure.create({ type: 'SourceError', message: problem, nonRetryable: true });
  }
  // Training and evaluation keep a core busy: they go to the heavy queue the starter named (runs
  // started without one, and older runs, use the configuration's default beside their own queue).
  // Replay does not compare an activity's task queue, so older histories replay unchanged.
  const heavyQueue = input.heavyTaskQueue ?? heavyQueueOf(workflowInfo().taskQueue);
  const data = proxyActivities<Activities>(dataMovement);
  const trainer = proxyActivities<Pick<Activities, HeavyActivity>>({
    ...training({ heartbeatSeconds: input.trainingHeartbeatSeconds }),
    taskQueue: heavyQueue,
  });
  const scorer = proxyActivities<Pick<Activities, HeavyActivity>>({ ...evaluation, taskQueue: heavyQueue });
  const evaluator = proxyActivities<Activities>(evaluation);
  const announcer = proxyActivities<Activities>(announcing);
  /** Tells the configured webhooks, signed; runs recorded before announcements replay without them. */
  const announce = async (message: Parameters<Activities['announce']>[0]): Promise<void> => {
    if (patched('announcements')) await announcer.announce(message);
  };
  // Decisions from an authenticated identity, checked by an activity; older histories replay without.
  const authenticated = patched('authenticated-decisions');

  const status: LifecycleStatus = {
    pipeline: input.pipeline ?? input.spec?.name ?? '',
    stage: 'ingest',
    startedBy: input.startedBy,
    verdicts: [],
    warnings: [],
    history: [],
    ...input.resume?.status,
  };
  const enter = (stage: LifecycleStage) => {
    status.stage = stage;
    status.history.push({ stage, at: new Date().toISOString() });
    // What the Web UI shows on the run's page ("Current Details"), for the approver.
    setCurrentDetails(currentDetails(status, authenticated));
  };
  // A newer candidate of the model may supersede this one: a claim the run checks with the registry.
  let supersedeClaims = 0;
  let selfCheck = false;
  setHandler(supersededSignal, () => {
    supersedeClaims++;
  });
  setHandler(statusQuery, () => status);

  // The spec travels by its hash: read (or, when it came inline, stored) by an activity, so no
  // worker needs a pipelines/ folder. Histories recorded before carried it inline and replay so.
  const specByHash = patched('spec-by-hash');
  const { spec, specHash } = specByHash
    ? await io.resolveRunSpec({ spec: input.spec, specHash: input.specHash })
    : carriedSpec(input);
  const specRef: SpecRef = specByHash ? { specHash } : { spec, specHash };
  status.pipeline = spec.name;

  // Approval: Signals (the Web UI) and the `decide` Update (the CLI) meet in one decision.
  let decision:
    | { decision: 'approved' | 'rejected'; approver: string; comment?: string; authenticatedBy?: string }
    | undefined;
  const refusals: { approver: string; reason: string; via: string }[] = [];
  const decisionProblem = (approver: unknown): string | undefined => {
    if (typeof approver !== 'string' || approver.trim() === '') {
      return 'an approval needs a JSON payload such as { "approver": "shop-manager", "comment": "..." }';
    }
    if (status.stage !== 'awaiting-approval')
      return `the run is at stage ${status.stage}, not waiting for approval`;
    if (decision) return `${decision.approver} already ${decision.decision} this candidate`;
    if (approver === input.startedBy) {
      return `${approver} started this run and may not approve it too (separation of duties); ask one of: ${spec.approval.approvers.join(', ')}`;
    }
    if (!spec.approval.approvers.includes(approver)) {
      return `${approver} is not an approver of ${spec.name}; approvers: ${spec.approval.approvers.join(', ')}`;
    }
    return undefined;
  };
  const onSignal = (kind: 'approved' | 'rejected', payload: ApprovalSignal | undefined) => {
    const approver: unknown = payload?.approver;
    const problem = decisionProblem(approver);
    if (problem) {
      refusals.push({
        approver: typeof approver === 'string' ? approver : '(none)',
        reason: problem,
        via: 'signal',
      });
      return;
    }
    decision = { decision: kind, approver: approver as string, comment: payload?.comment };
  };
  // Authenticated decisions: each carries a one-time code; the decision activity redeems it.
  const pending: PendingDecision[] = [...(input.resume?.pending ?? [])];
  let signalsThisRun = 0;
  const checkCodes = (items: PendingDecision[]): Promise<DecisionCheckResult> =>
    io.checkDecisions({
      model: spec.name,
      version: status.version ?? 0,
      approvers: spec.approval.approvers,
      claimedStarter: input.startedBy,
      items,
    });
  let refusedCount = input.resume?.status.approval?.refusedCount ?? 0;
  const keptRefusals: { approver: string; reason: string }[] = [
    ...(input.resume?.status.approval?.refused ?? []),
  ];
  const noteRefusals = (checked: DecisionCheckResult) => {
    refusedCount += checked.refusals.length;
    for (const refusal of checked.refusals)
      keptRefusals.push({ approver: refusal.actor, reason: refusal.reason });
    // Only the last few stay visible: thousands of bad Signals must not grow the status.
    keptRefusals.splice(0, Math.max(0, keptRefusals.length - REFUSALS_KEPT));
    if (status.approval) {
      status.approval.refused = [...keptRefusals];
      status.approval.refusedCount = refusedCount;
    }
  };
  const refusedError = (checked: DecisionCheckResult) =>
    ApplicationFailure.create({
      type: 'DecisionRefused',
      message: checked.refusals[0]?.reason ?? 'the decision was refused',
      nonRetryable: true,
    });
  const decided = (accepted: AcceptedDecision) => ({
    decision: accepted.action === 'reject' ? ('rejected' as const) : ('approved' as const),
    approver: accepted.user,
    comment: accepted.comment,
    authenticatedBy: accepted.authenticatedBy,
  });
  const onCodeSignal = (action: 'approve' | 'reject', payload: unknown) => {
    if (
      decision ||
      ![
        'ingest',
        'validate',
        'register',
        'features',
        'tune',
        'train',
        'evaluate',
        'fairness',
        'security',
        'awaiting-approval',
      ].includes(status.stage)
    ) {
      if (status.approval)
        status.approval.ignoredAfterDecision = (status.approval.ignoredAfterDecision ?? 0) + 1;
      return;
    }
    signalsThisRun += 1;
    pending.push(pendingDecision(action, 'signal', payload));
  };

  // Rollback: while the run stays open after deploying.
  let rolledBack: { from: number; to: number } | undefined;
  // Only the run's state is checked before an Update is accepted (a refused Update is not recorded);
  // who decides is the decision activity's check, audited.
  const unlessWaiting: (request: DecisionRequest) => void = () => {
    if (status.stage !== 'awaiting-approval')
      throw new Error(`the run is at stage ${status.stage}, not waiting for approval`);
    if (decision) throw new Error(`${decision.approver} already ${decision.decision} this candidate`);
  };
  const unlessDeployed: (request: RollbackRequest) => void = () => {
    if (status.stage !== 'deployed')
      throw new Error(`the run is at stage ${status.stage}; only a deployed run rolls back`);
  };
  if (authenticated) {
    setHandler(approveSignal, (payload: unknown) => onCodeSignal('approve', payload));
    setHandler(rejectSignal, (payload: unknown) => onCodeSignal('reject', payload));
    setHandler(
      decideUpdate,
      async (request: DecisionRequest): Promise<DecisionAnswer> => {
        const fields: unknown = request;
        const action =
          typeof fields === 'object' &&
          fields !== null &&
          (fields as { decision?: unknown }).decision === 'reject'
            ? 'reject'
            : 'approve';
        const checked = await checkCodes([pendingDecision(action, 'update', fields)]);
        noteRefusals(checked);
        if (!checked.accepted) throw refusedError(checked);
        if (decision) {
          throw ApplicationFailure.create({
            type: 'DecisionRefused',
            message: `${decision.approver} already ${decision.decision} this candidate`,
            nonRetryable: true,
          });
        }
        decision = decided(checked.accepted);
        return { decision: decision.decision, approver: decision.approver, version: status.version ?? 0 };
      },
      { validator: unlessWaiting },
    );
    setHandler(
      rollbackUpdate,
      async (request: RollbackRequest) => {
        const checked = await checkCodes([pendingDecision('rollback', 'update', request)]);
        noteRefusals(checked);
        if (!checked.accepted) throw refusedError(checked);
        const reason = checked.accepted.comment ?? 'rolled back';
        const answer = await io.rollbackProduction({
          model: spec.name,
          actor: checked.accepted.user,
          reason,
        });
        rolledBack = answer;
        status.rolledBackTo = answer.to;
        enter('rolled-back');
        await announce({
          event: 'rolled-back',
          model: spec.name,
          version: answer.to,
          from: answer.from,
          to: answer.to,
          actor: checked.accepted.user,
          reason,
          runId,
        });
        return answer;
      },
      { validator: unlessDeployed },
    );
  } else {
    setHandler(approveSignal, (payload) => onSignal('approved', payload));
    setHandler(rejectSignal, (payload) => onSignal('rejected', payload));
    setHandler(
      decideUpdate,
      (request): DecisionAnswer => {
        const kind = request.decision === 'approve' ? 'approved' : 'rejected';
        // The validator refused every request without an approver's name.
        const approver = String(request.approver);
        decision = { decision: kind, approver, comment: request.comment };
        return { decision: kind, approver, version: status.version ?? 0 };
      },
      {
        validator: (request: DecisionRequest) => {
          // The CLI sends well-formed requests; anything else (a hand-made Update) is named and refused.
          const kind: unknown = request.decision;
          if (kind !== 'approve' && kind !== 'reject') {
            throw new Error(`decision must be "approve" or "reject", not ${JSON.stringify(kind)}`);
          }
          const problem = decisionProblem(request.approver);
          if (problem) throw new Error(problem);
        },
      },
    );

    setHandler(
      rollbackUpdate,
      async (request) => {
        const answer = await io.rollbackProduction({
          model: spec.name,
          actor: String(request.actor),
          reason: request.reason,
        });
        rolledBack = answer;
        status.rolledBackTo = answer.to;
        enter('rolled-back');
        await announce({
          event: 'rolled-back',
          model: spec.name,
          version: answer.to,
          from: answer.from,
          to: answer.to,
          actor: String(request.actor),
          reason: request.reason,
          runId,
        });
        return answer;
      },
      {
        validator: (request: RollbackRequest) => {
          if (status.stage !== 'deployed')
            throw new Error(`the run is at stage ${status.stage}; only a deployed run rolls back`);
          if (!spec.approval.approvers.includes(String(request.actor))) {
            throw new Error(
              `${String(request.actor)} may not roll back ${spec.name}; approvers: ${spec.approval.approvers.join(', ')}`,
            );
          }
          if (request.reason.trim() === '') throw new Error('say why: a rollback needs a reason');
        },
      },
    );
  }

  let version: number | undefined = input.resume?.status.version;
  try {
    if (!input.resume) {
      enter('ingest');
      const snapshot = await data.ingestSnapshot({ pipeline: spec.name, ...specRef });
      status.snapshot = snapshot;

      enter('validate');
      const validation = await data.validateSnapshot({ pipeline: spec.name, ...specRef, snapshot });
      status.warnings = validation.warnings;

      enter('register');
      const registered = await io.registerVersion({ ...specRef, specHash, snapshot });
      version = registered.version;
      status.version = version;
      const ours = registered.runId === runId;
      if (!registered.created && !(ours || registered.status === 'failed')) {
        // The same model on the same data already made this version: nothing new to train. A spec
        // that differs in other fields only was recorded as a revision of it, applying without retraining.
        const revised = registered.revision;
        status.reason = revised
          ? `version ${registered.version} was already made from this model definition and data (status ${registered.status}, run ${registered.runId}); ` +
            `this spec's other changes (${revised.fields.join(', ')}) are its revision ${revised.revision}, which applies without retraining`
          : `version ${registered.version} was already made from this spec and data (status ${registered.status}, run ${registered.runId})`;
        enter('unchanged');
        return { outcome: 'unchanged', pipeline: spec.name, version, reason: status.reason };
      }

      // Derived and history features are built once into a table every later stage reads instead of
      // the snapshot. Specs with none (every run recorded before the stage) go on as before, without a marker.
      let features: BuiltFeaturesRef | undefined;
      const buildsFeatures = (spec.derived?.length ?? 0) > 0 || (spec.history?.length ?? 0) > 0;
      if (buildsFeatures && patched('features')) {
        enter('features');
        features = await data.buildFeatures({ ...specRef, version, snapshot });
        status.features = features;
      }
      const stageTable = features ? { features } : {};

      // A spec with tuning searches the trainer's parameters first; specs without (and every run
      // recorded before the stage) train with the spec's parameters, without a marker.
      let tuning: TuningRef | undefined;
      if (spec.tuning && patched('tuning')) {
        enter('tune');
        tuning = await tuneStage({
          io,
          heavy: trainer,
          stage: { ...specRef, version, snapshot, ...stageTable },
          onProgress: (progress) => {
            status.tuning = { ...progress };
            setCurrentDetails(currentDetails(status, authenticated));
          },
        });
      }

      enter('train');
      const trained = await trainer.trainModel({
        ...specRef,
        version,
        snapshot,
        ...stageTable,
        ...(tuning ? { tuning } : {}),
      });
      status.training = trained.summary;

      enter('evaluate');
      const evaluated = await scorer.evaluateCandidate({
        ...specRef,
        version,
        snapshot,
        ...stageTable,
        trained,
      });
      status.metrics = evaluated.metrics;
      status.champion = evaluated.champion;
      status.verdicts.push(...stageVerdicts(evaluated).map(summarise));

      enter('fairness');
      const fairness = await evaluator.checkFairness({
        ...specRef,
        version,
        snapshot,
        ...stageTable,
        evaluation: evaluated,
      });
      status.verdicts.push(...stageVerdicts(fairness).map(summarise));

      enter('security');
      const packaged = await evaluator.packageCandidate({
        ...specRef,
        specHash,
        version,
        snapshot,
        ...stageTable,
        trained,
        evaluation: evaluated,
        fairness,
      });
      status.verdicts.push(...stageVerdicts(packaged).map(summarise));
      status.cardKey = packaged.cardKey;
    }
    if (version === undefined) throw new Error(`the run resumed without a version`);
    let deadlineAt: number;
    let reminderAt: number;
    let reminded: boolean;
    if (input.resume) {
      // Continued as new while waiting (a flood of Signals): the same wait goes on.
      ({ deadlineAt, reminderAt, reminded } = input.resume);
      setCurrentDetails(currentDetails(status, authenticated));
    } else {
      enter('awaiting-approval');
      const waitStarted = Date.now();
      const howToApprove = [
        `kerf approve ${runId} --comment "..."`,
        `kerf reject ${runId} --comment "..."`,
        `kerf approval-code ${runId}, then the Signal approve or reject in the Temporal Web UI`,
      ];
      deadlineAt = waitStarted + input.approvalDeadlineMs;
      reminderAt = waitStarted + Math.round(input.approvalDeadlineMs * spec.approval.reminderAtFraction);
      status.approval = {
        approvers: spec.approval.approvers,
        deadlineAt: new Date(deadlineAt).toISOString(),
        refused: [],
      };
      setCurrentDetails(currentDetails(status, authenticated));
      reminded = false;
      await announce({
        event: 'approval-requested',
        model: spec.name,
        version,
        runId,
        approvers: spec.approval.approvers,
        deadlineAt: status.approval.deadlineAt,
        metrics: status.metrics ?? {},
        card: status.cardKey ?? null,
        howToApprove,
      });
      // One open candidate per model: older ones still waiting are told (each checks before it ends),
      // and this one checks once whether a newer candidate already waits (it reached approval first).
      if (patched('supersede')) {
        await io.supersedeOlderCandidates({ model: spec.name, version });
        selfCheck = true;
      }
    }
    const approval = status.approval;
    if (!approval) throw new Error('the run waits for approval without its approval state');
    // Temporal caps the Signals (10,000) and events (51,200) of one execution: past a few thousand
    // Signals the wait goes on in a new execution, with the same workflow id (codes are bound to
    // it), deadline, refusals and the decisions not checked yet.
    const continueWaiting = async (): Promise<never> => {
      await condition(allHandlersFinished);
      return continueAsNew<typeof modelLifecycle>({
        ...input,
        resume: { status, deadlineAt, reminderAt, reminded, pending: pending.splice(0) },
      });
    };
    const tooManySignals = () =>
      signalsThisRun >= CONTINUE_AFTER_SIGNALS || workflowInfo().continueAsNewSuggested;
    for (;;) {
      if (authenticated) {
        // Codes are checked in batches: a flood of Signals costs a few activities, not one each.
        while (!decision && pending.length > 0) {
          if (tooManySignals()) await continueWaiting();
          const checked = await checkCodes(pending.splice(0, DECISION_BATCH));
          noteRefusals(checked);
          if (checked.accepted) decision ??= decided(checked.accepted);
        }
        if (!decision && tooManySignals()) await continueWaiting();
      } else {
        for (let refusal = refusals.shift(); refusal; refusal = refusals.shift()) {
          approval.refused.push({ approver: refusal.approver, reason: refusal.reason });
          await io.recordAuditEvent({
            actor: refusal.approver,
            action: 'approval-refused',
            model: spec.name,
            version,
            details: { reason: refusal.reason, via: refusal.via, runId },
          });
        }
      }
      if (decision) break;
      if ((supersedeClaims > 0 || selfCheck) && patched('supersede')) {
        const claimed = supersedeClaims > 0;
        supersedeClaims = 0;
        selfCheck = false;
        const superseded = await io.endIfSuperseded({ model: spec.name, version, runId, claimed });
        if (superseded.by !== undefined) {
          status.reason = `superseded by version ${superseded.by}, a newer candidate of ${spec.name} waiting for approval`;
          enter('superseded');
          return { outcome: 'superseded', pipeline: spec.name, version, reason: status.reason };
        }
      }
      const now = Date.now();
      if (now >= deadlineAt) break;
      if (!reminded && now >= reminderAt) {
        reminded = true;
        await io.recordAuditEvent({
          actor: 'kerf',
          action: 'approval-reminder',
          model: spec.name,
          version,
          details: { runId, approvers: spec.approval.approvers, deadlineAt: approval.deadlineAt },
        });
        await announce({
          event: 'approval-reminder',
          model: spec.name,
          version,
          runId,
          approvers: spec.approval.approvers,
          deadlineAt: approval.deadlineAt,
          card: status.cardKey ?? null,
          howToApprove: [`kerf approve ${runId} --comment "..."`, `kerf reject ${runId} --comment "..."`],
        });
        continue;
      }
      const wakeAt = reminded ? deadlineAt : Math.min(reminderAt, deadlineAt);
      await condition(
        () => decision !== undefined || refusals.length > 0 || pending.length > 0 || supersedeClaims > 0,
        Math.max(1, wakeAt - now),
      );
    }

    const made = decision ?? {
      decision: 'rejected' as const,
      approver: 'kerf',
      comment: `nobody decided within the approval deadline (${spec.approval.deadline})`,
    };
    approval.decision = made.decision;
    approval.approver = made.approver;
    approval.comment = made.comment;
    if (decision?.authenticatedBy) approval.authenticatedBy = decision.authenticatedBy;
    await io.recordDecision({
      model: spec.name,
      version,
      decision: made.decision,
      approver: made.approver,
      comment: made.comment,
      runId,
      expired: decision === undefined,
      ...(decision?.authenticatedBy ? { authenticatedBy: decision.authenticatedBy } : {}),
    });
    if (!decision) {
      await announce({
        event: 'approval-deadline-reached',
        model: spec.name,
        version,
        runId,
        reason: made.comment,
      });
    }
    if (made.decision === 'rejected') {
      status.reason = decision
        ? `rejected by ${made.approver}`
        : (made.comment ?? 'approval deadline passed');
      enter('rejected');
      return { outcome: 'rejected', pipeline: spec.name, version, reason: status.reason };
    }

    enter('deploy');
    status.deployed = await io.deployVersion({ ...specRef, version, actor: made.approver });
    enter('deployed');
    await announce({ event: 'deployed', model: spec.name, version, runId, approver: made.approver });

    await condition(() => rolledBack !== undefined, input.rollbackWindowMs ?? DAY_MS);
    await condition(allHandlersFinished);
    if (rolledBack) {
      return {
        outcome: 'rolled-back',
        pipeline: spec.name,
        version,
        reason: `production moved back from version ${rolledBack.from} to ${rolledBack.to}`,
      };
    }
    return { outcome: 'deployed', pipeline: spec.name, version };
  } catch (error) {
    const cause = error instanceof ActivityFailure ? error.cause : error;
    const stopping = cause instanceof ApplicationFailure && isStoppingError(cause.type);
    status.reason = cause instanceof Error ? cause.message : String(cause);
    if (stopping && cause.type === 'GateFailedError') {
      // What the gate measured, so the status says why without digging in the history.
      const found = cause.details?.[0] as Partial<GateFailure> | undefined;
      if (found?.verdict) status.verdicts.push(summarise(found.verdict));
      if (found?.metrics) status.metrics = found.metrics;
      if (found?.champion) status.champion = found.champion;
    }
    const stoppedAt = status.stage;
    enter('failed');
    if (!stopping && version !== undefined) {
      // Not a decision but a breakdown: say so on the version, so a new run may train it again.
      await io.markVersionFailed({
        model: spec.name,
        version,
        stage: stoppedAt,
        reason: status.reason,
        runId,
      });
    }
    throw error;
  }
}
