/**
 * What the model lifecycle workflow takes, answers and reports. Types only: the workflow, its
 * activities, the worker and the CLI share them, and none of them brings code into the sandbox.
 */
import type { PipelineSpec } from '../lifecycle/spec/schema';
import type { GateVerdict } from '../lifecycle/gates/verdict';
import type { TrainingSummary } from '../lifecycle/train';
import type { PendingDecision } from '../access/decisionCodes';

export type { TrainingSummary };

export interface LifecycleInput {
  /**
   * `specHash(spec)`: the SHA-256 of the spec's canonical JSON, stored at `specs/<specHash>.json` by
   * the starter. Every stage reads the spec by it, so the run needs no worker's `pipelines/` folder;
   * with the snapshot's hash it is the identity of the version this run makes. Optional only for an
   * input that carries `spec` itself (a start from the Web UI).
   */
  specHash?: string;
  /**
   * The spec itself, for a start by hand (the Web UI's JSON input): the run validates and stores it
   * first, then goes on by its hash. Runs started before specs travelled by hash carried it here.
   */
  spec?: PipelineSpec;
  /** The pipeline's name, for the status until the spec is read. @default `spec.name` */
  pipeline?: string;
  /** Who started the run; they may not approve it (separation of duties). */
  startedBy: string;
  /** How long the candidate waits for a decision, ms (the spec's `approval.deadline`, or shorter in tests). */
  approvalDeadlineMs: number;
  /**
   * How long after deploying the run stays open for a `rollback` Update, ms.
   * @default 24 hours
   */
  rollbackWindowMs?: number;
  /**
   * Set when a run waiting for approval continued as new (after thousands of Signals): where the
   * wait stands, so the new execution goes on waiting instead of training again.
   */
  resume?: {
    status: LifecycleStatus;
    /** Workflow times, ms since the epoch. */
    deadlineAt: number;
    reminderAt: number;
    reminded: boolean;
    /** Decisions received but not checked yet. */
    pending: PendingDecision[];
  };
  /**
   * Heartbeat timeout of the training activity, seconds: how soon a dead worker's training is retried.
   * @default 10 (DEFAULT_TRAINING_HEARTBEAT_SECONDS in activityProfiles.ts)
   */
  trainingHeartbeatSeconds?: number;
  /**
   * The task queue of training and evaluation (the starter's TEMPORAL_HEAVY_TASK_QUEUE), fixed for the
   * run's life so a worker's configuration cannot move it mid-run.
   * @default `<the run's own task queue>-heavy`, as the configuration's default (older runs, Web UI starts)
   */
  heavyTaskQueue?: string;
}

/**
 * How a stage names the run's spec: its hash (stages read `specs/<specHash>.json`), or, in runs
 * started before specs travelled by hash, the spec itself.
 */
export type SpecRef = { specHash: string; spec?: undefined } | { spec: PipelineSpec; specHash?: string };

/** Where a run is. */
export type LifecycleStage =
  | 'ingest'
  | 'validate'
  | 'register'
  | 'features'
  | 'tune'
  | 'train'
  | 'evaluate'
  | 'fairness'
  | 'security'
  | 'awaiting-approval'
  | 'deploy'
  | 'deployed'
  | 'rolled-back'
  | 'rejected'
  | 'superseded'
  | 'unchanged'
  | 'failed';

/**
 * What the tune stage chose and where its record of every trial is (`models/<m>/v<N>/tuning.json`):
 * the train stage trains with `params`, the manifest and the card show them.
 */
export interface TuningRef {
  key: string;
  sha256: string;
  /** What the trials were ranked by: the quality gate's primary metric. */
  metric: string;
  /** Trials drawn. */
  trials: number;
  /** Trial runs over all rungs. */
  trialsRun: number;
  /** Trial runs the budget stopped before they scored. */
  stoppedByBudget: number;
  /** Trial runs whose parameters the trainer refused. */
  failed: number;
  seconds: number;
  /** The winning trial and its mean fold score; absent when no trial scored. */
  chosenTrial?: number;
  score?: number;
  /** The trainer's parameters the model trains with, every default filled in. */
  params: Record<string, unknown>;
}

/** The tune stage's progress, for the status and the Web UI. */
export interface TuningProgress {
  trials: number;
  rungs: number;
  rung: number;
  finished: number;
  best?: { trial: number; score: number; rung: number };
  chosen?: TuningRef;
}

/** A reference to a snapshot (the data itself stays in S3). */
export interface SnapshotRef {
  key: string;
  sha256: string;
  rows: number;
  /** Where the snapshot's record (columns, statistics) is kept. */
  recordKey: string;
}

/** A features stage's built table: the snapshot's rows with the derived features added. */
export interface BuiltFeaturesRef {
  /** `features/<pipeline>/<sha256>.arrow`, in the snapshot's format. */
  key: string;
  sha256: string;
  rows: number;
  /** `featureBuildHash` of the definition it was built with (`lifecycle/features/build.ts`). */
  definitionSha256: string;
}

/** What each stage from training on works with: the spec, the version the run makes, its snapshot. */
export type StageInput = SpecRef & {
  version: number;
  snapshot: SnapshotRef;
  /**
   * The built table, when the spec has derived features and the run built them: the stages read it
   * instead of the snapshot (`loadStageTable`). Absent in runs before the features stage.
   */
  features?: BuiltFeaturesRef;
};

export interface RegisteredVersion {
  version: number;
  /** False when the same spec on the same snapshot already had this version. */
  created: boolean;
  status: string;
  /** The workflow id of the run that registered it. */
  runId: string;
  /**
   * The version existed and this run's spec differs from its current one only in fields that do
   * not change the model: recorded as this revision, which applies without retraining.
   */
  revision?: { revision: number; fields: string[] };
}

/**
 * A `TrainedCandidate` (lifecycle/train) once stored: keys of its artifacts, never the bytes, so
 * the workflow history stays small.
 */
export interface StoredCandidate {
  modelKey: string;
  onnxKey: string;
  onnxSha256: string;
  onnxBytes: number;
  summary: TrainingSummary;
  /** A forecast model: where its state (series, recent values, intervals) is kept, and its SHA-256. */
  forecastState?: { key: string; sha256: string };
  /** The tune stage's choice the model was trained with; absent without tuning. */
  tuning?: TuningRef;
}

export interface ChampionComparison {
  version: number;
  comparable: boolean;
  metrics?: Record<string, number>;
  reason?: string;
}

export interface EvaluationOutcome {
  metrics: Record<string, number>;
  champion?: ChampionComparison;
  /** The baseline's test metrics, the floor the candidate had to beat; absent in runs from before floors. */
  floor?: { kind: string; metrics: Record<string, number> };
  /** The verdict of the stage's first gate (quality). */
  verdict: GateVerdict;
  /** Every verdict of the stage's gates, `verdict` first; absent in runs recorded before there were more. */
  verdicts?: GateVerdict[];
  /** Test-set targets and predictions, for the fairness gate and the model card. */
  predictionsKey: string;
}

export interface FairnessOutcome {
  /** The verdict of the stage's first gate (fairness). */
  verdict: GateVerdict;
  /** Every verdict of the stage's gates, `verdict` first; absent in runs recorded before there were more. */
  verdicts?: GateVerdict[];
  /** Per-slice table for the model card. */
  slicesKey: string;
}

export interface PackagedCandidate {
  /** The verdict of the stage's first gate (security). */
  verdict: GateVerdict;
  /** Every verdict of the stage's gates, `verdict` first; absent in runs recorded before there were more. */
  verdicts?: GateVerdict[];
  manifestKey: string;
  signatureKey: string;
  cardKey: string;
}

/** One line per gate for people: passed or not, and the checks that failed. */
export interface VerdictSummary {
  gate: GateVerdict['gate'];
  passed: boolean;
  failed: string[];
}

export interface ApprovalState {
  approvers: string[];
  /** When the candidate is rejected if nobody decides (ISO time). */
  deadlineAt: string;
  decision?: 'approved' | 'rejected';
  approver?: string;
  /** How the approver proved who they are (`cli-key`, `approval-code`), for authenticated decisions. */
  authenticatedBy?: string;
  comment?: string;
  /**
   * Approvals that were refused, with the reason (signals cannot answer their sender): the last
   * few (`REFUSALS_KEPT`), so thousands of bad Signals cannot grow the status without bound.
   */
  refused: { approver: string; reason: string }[];
  /** All refusals so far, also those no longer in `refused`. */
  refusedCount?: number;
  /** Signals that arrived after the decision was made; they change nothing. */
  ignoredAfterDecision?: number;
}

/** What the `status` query answers. */
export interface LifecycleStatus {
  pipeline: string;
  stage: LifecycleStage;
  startedBy: string;
  version?: number;
  snapshot?: SnapshotRef;
  /** The built table, when the run has a features stage. */
  features?: BuiltFeaturesRef;
  /** The tune stage's progress and choice, when the spec tunes. */
  tuning?: TuningProgress;
  training?: TrainingSummary;
  metrics?: Record<string, number>;
  champion?: ChampionComparison;
  verdicts: VerdictSummary[];
  cardKey?: string;
  approval?: ApprovalState;
  deployed?: { alias: string; version: number };
  rolledBackTo?: number;
  /** Soft data anomalies found at validation. */
  warnings: string[];
  /** Why the run stopped, when it did not deploy. */
  reason?: string;
  /** Each stage entered, with its time (workflow time). */
  history: { stage: LifecycleStage; at: string }[];
}

export interface LifecycleResult {
  outcome: 'deployed' | 'rolled-back' | 'rejected' | 'superseded' | 'unchanged';
  pipeline: string;
  version?: number;
  reason?: string;
}

/**
 * The JSON a person sends with the `approve` or `reject` Signal (from the Temporal Web UI, say): a
 * one-time code from `kerf approval-code <run id>`, bound to that person, run, version and decision.
 * Runs started before authenticated decisions took `{ "approver": "<name>" }` instead.
 */
export interface ApprovalSignal {
  code?: string;
  comment?: string;
  /** Only read by runs started before authenticated decisions; refused by newer runs. */
  approver?: string;
}

/**
 * The `decide` Update the CLI sends, with a code it issued itself for the logged-in person. Any
 * payload is checked by the decision activity and refused with the reason when it does not validate.
 */
export interface DecisionRequest {
  decision: 'approve' | 'reject';
  code?: string;
  comment?: string;
  /** Only read by runs started before authenticated decisions. */
  approver?: string;
}

export interface DecisionAnswer {
  decision: 'approved' | 'rejected';
  version: number;
  approver: string;
}

/** The `rollback` Update: a code for `rollback` issued to an operator of the model, and why. */
export interface RollbackRequest {
  code?: string;
  reason: string;
  /** Only read by runs started before authenticated decisions. */
  actor?: string;
}

export interface RollbackAnswer {
  from: number;
  to: number;
}
