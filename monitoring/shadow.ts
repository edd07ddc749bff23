/**
 * A shadow version set beside production on the same rows: a shadow scores every request production
 * answers (logged, never returned), so the two can be compared row by row without any outcome, by
 * how much they agree, and, for the rows whose outcome is booked, by each one's error on them.
 */
import type { TaskKind } from '../ml/model';
import { formatNumber } from '../lifecycle/gates/quality';
import {
  type ComparisonMetric,
  comparisonMetricLabel,
  type LabelledOutput,
  type LoggedOutput,
  predictedClass,
  predictedValue,
  type VersionError,
  versionError,
} from './versionErrors';

/** One request as both versions scored it. */
export interface ShadowPair {
  production: LoggedOutput;
  shadow: LoggedOutput;
}

/** A request both scored whose outcome is booked. */
export interface LabelledShadowPair extends ShadowPair {
  actualValue: number | null;
  actualLabel: string | null;
}

export interface ShadowInput {
  model: string;
  task: TaskKind;
  metric: ComparisonMetric;
  shadowVersion: number;
  productionVersion: number;
  /** Since when the shadow scored beside this production version, ISO 8601. */
  since: string;
  to: string;
  /**
   * Regression: a row differs when the two predictions are further apart than this share of
   * production's (`deploy.shadowTolerance`).
   */
  tolerance: number;
  pairs: readonly ShadowPair[];
  labelled: readonly LabelledShadowPair[];
}

/** How far the two versions' predictions on the same rows agree. */
export type ShadowAgreement =
  | {
      kind: 'regression';
      /** Mean |shadow - production| in target units; null without rows. */
      meanAbsoluteDifference: number | null;
      /** The relative tolerance a row is judged by. */
      tolerance: number;
      /** Share of rows where |shadow - production| > tolerance x |production|; null without rows. */
      differingShare: number | null;
    }
  | {
      kind: 'classification';
      /** Share of rows where both predicted the same class; null without rows. */
      sameClassShare: number | null;
    };

export interface ShadowComparison {
  model: string;
  task: TaskKind;
  shadowVersion: number;
  productionVersion: number;
  since: string;
  to: string;
  /** Requests both versions scored (with an output each could be read from). */
  rows: number;
  agreement: ShadowAgreement;
  /**
   * Each version's error on the same labelled rows (those both could be measured on); null when no
   * row of the comparison has an outcome yet.
   */
  outcomes: { metric: ComparisonMetric; rows: number; production: VersionError; shadow: VersionError } | null;
}

const finiteOrNull = (value: number): number | null => (Number.isFinite(value) ? value : null);

function regressionAgreement(pairs: readonly ShadowPair[], tolerance: number) {
  let rows = 0;
  let absolute = 0;
  let differing = 0;
  for (const pair of pairs) {
    const production = predictedValue(pair.production);
    const shadow = predictedValue(pair.shadow);
    if (production === undefined || shadow === undefined) continue;
    const difference = Math.abs(shadow - production);
    rows++;
    absolute += difference;
    if (difference > tolerance * Math.abs(production)) differing++;
  }
  const agreement: ShadowAgreement = {
    kind: 'regression',
    meanAbsoluteDifference: rows === 0 ? null : finiteOrNull(absolute / rows),
    tolerance,
    differingShare: rows === 0 ? null : differing / rows,
  };
  return { rows, agreement };
}

function classificationAgreement(pairs: readonly ShadowPair[]) {
  let rows = 0;
  let same = 0;
  for (const pair of pairs) {
    const production = predictedClass(pair.production);
    const shadow = predictedClass(pair.shadow);
    if (!production || !shadow) continue;
    rows++;
    if (production.label === shadow.label) same++;
  }
  const agreement: ShadowAgreement = {
    kind: 'classification',
    sameClassShare: rows === 0 ? null : same / rows,
  };
  return { rows, agreement };
}

/** Whether both versions' outputs on the row are of the task's kind, so both are judged on it. */
function bothReadable(task: TaskKind, pair: ShadowPair): boolean {
  return task === 'regression'
    ? predictedValue(pair.production) !== undefined && predictedValue(pair.shadow) !== undefined
    : predictedClass(pair.production) !== undefined && predictedClass(pair.shadow) !== undefined;
}

/** Compares the shadow with production on the requests both scored. */
export function compareShadow(input: ShadowInput): ShadowComparison {
  const { rows, agreement } =
    input.task === 'regression'
      ? regressionAgreement(input.pairs, input.tolerance)
      : classificationAgreement(input.pairs);
  const judged = input.labelled.filter((pair) => bothReadable(input.task, pair));
  const side = (pick: (pair: LabelledShadowPair) => LoggedOutput): LabelledOutput[] =>
    judged.map((pair) => ({
      output: pick(pair),
      actualValue: pair.actualValue,
      actualLabel: pair.actualLabel,
    }));
  return {
    model: input.model,
    task: input.task,
    shadowVersion: input.shadowVersion,
    productionVersion: input.productionVersion,
    since: input.since,
    to: input.to,
    rows,
    agreement,
    outcomes:
      judged.length === 0
        ? null
        : {
            metric: input.metric,
            rows: judged.length,
            production: versionError(
              input.metric,
              side((pair) => pair.production),
            ),
            shadow: versionError(
              input.metric,
              side((pair) => pair.shadow),
            ),
          },
  };
}

const shown = (value: number | null): string => (value === null ? 'undefined' : formatNumber(value));

/** `4.2 %`, as the report writes shares (`percent` there; not imported, since the report imports this). */
const percent = (fraction: number): string => `${formatNumber(fraction * 100, 3)} %`;

/** The comparison in one sentence, for the report's notes. */
export function shadowSentence(comparison: ShadowComparison): string {
  const head = `Shadow v${comparison.shadowVersion} beside production v${comparison.productionVersion}`;
  if (comparison.rows === 0) return `${head}: no request scored by both since ${comparison.since}`;
  const { agreement, outcomes } = comparison;
  const agreed =
    agreement.kind === 'regression'
      ? `mean absolute difference ${shown(agreement.meanAbsoluteDifference)}, ` +
        `${agreement.differingShare === null ? 'undefined' : percent(agreement.differingShare)} of rows differ ` +
        `by more than ${percent(agreement.tolerance)} of production's prediction`
      : `the same class on ${agreement.sameClassShare === null ? 'undefined' : percent(agreement.sameClassShare)} of rows`;
  const errors = outcomes
    ? `; on ${outcomes.rows} labelled outcome${outcomes.rows === 1 ? '' : 's'} of them ` +
      `${comparisonMetricLabel(comparison.task, outcomes.metric)} ${shown(outcomes.shadow.value)} (shadow) ` +
      `against ${shown(outcomes.production.value)} (production)`
    : '; none of them has a labelled outcome yet';
  return `${head} on ${comparison.rows} same request${comparison.rows === 1 ? '' : 's'} since ${comparison.since}: ${agreed}${errors}`;
}
