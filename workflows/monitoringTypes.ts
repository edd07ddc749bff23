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

export interface NightlyResult extends NightlyCheck {
  /** Lifecycle runs this night started: retraining on fresh data, or a changed spec. */
  started: { workflowId: string; reason: string }[];
  /** Candidates waiting for a decision, announced to the webhook. */
  pendingApprovals: { model: string; version: number }[];
}
