/** What the nightly evaluation takes and reports. Types only (shared with activities and the CLI). */
import type { CanaryJudgement } from '../monitoring/canary';
import type { ShadowComparison } from '../monitoring/shadow';

export interface NightlyInput {
  /** The pipeline (model) whose production version is checked. */
  model: string;
  /**
   * Start retraining when the model is stale, and a lifecycle when its spec changed.
   * @default true
   */
  retrain?: boolean;
  /** Who the retraining runs are started by (they may not approve them). @default 'kerf-nightly' */
  startedBy?: string;
  /** Approval deadline override for the runs it starts (tests). */
  approvalDeadlineMs?: number;
}

export interface NightlyCheck {
  model: string;
  /** Null when nothing serves: there is nothing to check. */
  version: number | null;
  reportId?: number;
  htmlKey?: string;
  predictions: number;
  labelled: number;
  alarms: string[];
  stale: boolean;
  staleReasons: string[];
  /** The shadow against production on the same requests, when a shadow scored beside it. */
  shadow?: ShadowComparison;
}

/**
 * What the night's outcomes query did: the `outcomes.query` of the production version's current spec, run
 * before the check so the window is judged with its outcomes.
 */
export interface OutcomesSummary {
  /** Outcomes written: new, or replacing the earlier one of their key. */
  recorded: number;
  /** Of them, those whose key names a prediction the model answered. */
  matched: number;
  /** Rows left out: no key, or no finite actual value. */
  skipped: number;
  /**
   * Why nothing was recorded, naming the field (`outcomes.query: ...`): a query PostgreSQL refused,
   * that returns the wrong columns or runs too long (audited as `outcomes-query-refused`), or that
   * could not be run at all tonight. The night goes on without its outcomes.
   */
  refused?: string;
}

/** What `checkCanary` found and did: the judgement, and it in one sentence for people. */
export interface CanaryCheck {
  judgement: CanaryJudgement;
  /** `Canary v2 aborted by the nightly check: its RMSE ...` (`canarySentence`). */
  summary: string;
}

/**
 * What the night's retention did (`retention/`): the model's rejected, superseded and failed versions
 * whose objects went, and the prediction log's partitions made and dropped (for every model).
 */
export interface RetentionSummary {
  /** Objects removed from the store, and their bytes. */
  objects: number;
  bytes: number;
  /** The versions whose objects went. */
  versions: number[];
  /** Month partitions of the prediction log made ahead, and dropped past the retention. */
  partitionsCreated: string[];
  partitionsDropped: string[];
  /** Rows of the prediction log's DEFAULT partition older than the retention, deleted. */
  rowsExpired: number;
  /** Why nothing (or not everything) was done tonight; the night goes on. */
  refused?: string;
}

export interface NightlyResult extends NightlyCheck {
  /**
   * The outcomes read from SQL tonight; absent when the production version's spec has no
   * `outcomes` query (or nothing serves).
   */
  outcomes?: OutcomesSummary;
  /**
   * The canary against production on labelled outcomes, and whether this night aborted it; absent
   * without a canary (and in nights recorded before canaries were judged).
   */
  canary?: CanaryCheck;
  /** Lifecycle runs this night started: retraining on fresh data, or a changed spec. */
  started: { workflowId: string; reason: string }[];
  /** Candidates waiting for a decision, announced to the webhook. */
  pendingApprovals: { model: string; version: number }[];
  /** Tonight's retention; absent in nights recorded before it (no `retention` marker). */
  retention?: RetentionSummary;
}
