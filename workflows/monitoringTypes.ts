/** What the nightly evaluation takes and reports. Types only (shared with activities and the CLI). */

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

export interface NightlyResult extends NightlyCheck {
  /**
   * The outcomes read from SQL tonight; absent when the production version's spec has no
   * `outcomes` query (or nothing serves).
   */
  outcomes?: OutcomesSummary;
  /** Lifecycle runs this night started: retraining on fresh data, or a changed spec. */
  started: { workflowId: string; reason: string }[];
  /** Candidates waiting for a decision, announced to the webhook. */
  pendingApprovals: { model: string; version: number }[];
}
