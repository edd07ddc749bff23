/**
 * The canary judged on labelled outcomes: its error on the rows it answered against production's on
 * the rows production answered over the same time, by the spec's bound. Worse beyond the bound, the
 * nightly check aborts it; with too few outcomes on either side nothing is decided, and the report
 * says so.
 */
import type { TaskKind } from '../ml/model';
import { formatNumber } from '../lifecycle/gates/quality';
import {
  type ComparisonMetric,
  comparisonMetricLabel,
  type LabelledOutput,
  type VersionError,
  versionError,
} from './versionErrors';

/** What decides: the spec's `deploy.canaryMaxErrorRatio` and `deploy.canaryMinOutcomes`. */
export interface CanaryBound {
  /** The canary is worse when its error exceeds production's times this (>= 1). */
  maxErrorRatio: number;
  /** Fewest labelled outcomes each side needs before anything is decided. */
  minOutcomes: number;
}

export interface CanaryInput extends CanaryBound {
  model: string;
  task: TaskKind;
  metric: ComparisonMetric;
  /** Start of the comparison, ISO 8601: since when both versions served side by side. */
  since: string;
  /** End, ISO 8601. */
  to: string;
  canary: { version: number; rows: readonly LabelledOutput[] };
  production: { version: number; rows: readonly LabelledOutput[] };
}

/** One side of the comparison. */
export interface ServedVersionError extends VersionError {
  version: number;
}

export type CanaryVerdict = 'worse' | 'within-bound' | 'too-few-outcomes';

export interface CanaryJudgement extends CanaryBound {
  model: string;
  task: TaskKind;
  metric: ComparisonMetric;
  since: string;
  to: string;
  canary: ServedVersionError;
  production: ServedVersionError;
  /** The canary's error over production's; null when not defined (no error on a side, or 0 / 0). */
  ratio: number | null;
  verdict: CanaryVerdict;
  /**
   * Whether the nightly check aborted the canary for it (only when `worse`).
   * @default false
   */
  aborted: boolean;
  /** Why a canary found worse was not aborted (a person ended or changed it meanwhile). */
  notAborted?: string;
}

/** The canary's error over production's: 1 when both are 0, Infinity when only production's is. */
function errorRatio(canary: number, production: number): number {
  if (production > 0) return canary / production;
  return canary > 0 ? Number.POSITIVE_INFINITY : 1;
}

/** Compares the canary with production on their labelled outcomes, by the bound. Never aborts anything. */
export function judgeCanary(input: CanaryInput): CanaryJudgement {
  const canary = { version: input.canary.version, ...versionError(input.metric, input.canary.rows) };
  const production = {
    version: input.production.version,
    ...versionError(input.metric, input.production.rows),
  };
  const ratio =
    canary.value === null || production.value === null ? null : errorRatio(canary.value, production.value);
  const enough = canary.outcomes >= input.minOutcomes && production.outcomes >= input.minOutcomes;
  const verdict: CanaryVerdict =
    !enough || ratio === null ? 'too-few-outcomes' : ratio > input.maxErrorRatio ? 'worse' : 'within-bound';
  return {
    model: input.model,
    task: input.task,
    metric: input.metric,
    since: input.since,
    to: input.to,
    maxErrorRatio: input.maxErrorRatio,
    minOutcomes: input.minOutcomes,
    canary,
    production,
    // Infinity does not survive JSON: a canary with errors beside a flawless production reads null.
    ratio: ratio !== null && Number.isFinite(ratio) ? ratio : null,
    verdict,
    aborted: false,
  };
}

function outcomes(count: number): string {
  return `${count} labelled outcome${count === 1 ? '' : 's'}`;
}

/** `RMSE 12.3 on 80 labelled outcomes`. */
function sideText(judgement: CanaryJudgement, side: ServedVersionError): string {
  const label = comparisonMetricLabel(judgement.task, judgement.metric);
  return `${label} ${side.value === null ? 'undefined' : formatNumber(side.value)} on ${outcomes(side.outcomes)}`;
}

function ratioText(judgement: CanaryJudgement): string {
  return judgement.ratio === null ? 'infinitely many' : formatNumber(judgement.ratio, 3);
}

/** `its RMSE 12.3 on 80 labelled outcomes is 1.6 times production v1's 7.7 on 300 since ...`. */
export function canaryEvidence(judgement: CanaryJudgement): string {
  const { canary, production } = judgement;
  return (
    `its ${sideText(judgement, canary)} is ${ratioText(judgement)} times production v${production.version}'s ` +
    `${sideText(judgement, production)} since ${judgement.since}`
  );
}

/** The judgement in one sentence, for the report's alarms or notes and the announcement. */
export function canarySentence(judgement: CanaryJudgement): string {
  const { canary, production } = judgement;
  const sides = canaryEvidence(judgement);
  const bound = `the bound of ${formatNumber(judgement.maxErrorRatio)} (deploy.canaryMaxErrorRatio)`;
  switch (judgement.verdict) {
    case 'worse':
      return judgement.aborted
        ? `Canary v${canary.version} aborted by the nightly check: ${sides}, beyond ${bound}; production answers alone again`
        : `Canary v${canary.version} is worse than production beyond ${bound} (${sides}) but was not aborted: ` +
            (judgement.notAborted ?? 'no reason given');
    case 'within-bound':
      return `Canary v${canary.version} within ${bound}: ${sides}; it keeps answering its share`;
    case 'too-few-outcomes':
      return (
        `Canary v${canary.version} not judged: ${outcomes(canary.outcomes)} of its rows and ` +
        `${outcomes(production.outcomes)} of production v${production.version}'s since ${judgement.since}, ` +
        `fewer than the ${judgement.minOutcomes} per side deploy.canaryMinOutcomes asks; no decision tonight`
      );
  }
}
