/**
 * The model card's "Tuning" section: how the search ran (strategy, folds, budget), every trial run as
 * a chart of its fold score by rung, the chosen parameters, and every trial in a table.
 */
import { chartFigure, groupedScatterChart } from '../../reports/charts';
import { escapeHtml, htmlTable } from '../../reports/html';
import { cardNumber } from '../gates/gate';
import type { TrialResult } from './halving';
import type { TuningRecord } from './plan';

/** What the card shows of a search. */
export interface TuningCard {
  metric: string;
  lowerIsBetter: boolean;
  strategy: string;
  reduction: number;
  rungs: { rung: number; trials: number; fraction: number }[];
  folds: number;
  ordered: boolean;
  budgetMs: number;
  seconds: number;
  trials: number;
  tuned: string[];
  results: TrialResult[];
  chosenTrial?: number;
  score?: number;
  params: Record<string, unknown>;
}

export function tuningCardOf(record: TuningRecord): TuningCard {
  const { plan } = record;
  return {
    metric: plan.metric,
    lowerIsBetter: plan.lowerIsBetter,
    strategy: plan.strategy,
    reduction: plan.reduction,
    rungs: plan.rungs,
    folds: plan.folds,
    ordered: plan.ordered,
    budgetMs: plan.budgetMs,
    seconds: record.seconds,
    trials: plan.trials,
    tuned: plan.tuned,
    results: record.results,
    ...(record.chosen ? { chosenTrial: record.chosen.trial } : {}),
    ...(record.chosen?.score === undefined ? {} : { score: record.chosen.score }),
    params: record.params,
  };
}

const share = (fraction: number) =>
  fraction === 1 ? 'all rounds' : `1/${Math.round(1 / fraction)} of the rounds`;
const rungName = (rung: { rung: number; fraction: number }) =>
  `rung ${rung.rung + 1} (${share(rung.fraction)})`;
const value = (param: unknown) =>
  typeof param === 'number'
    ? cardNumber(param)
    : escapeHtml(param === undefined ? '–' : typeof param === 'string' ? param : JSON.stringify(param));

export async function tuningSection(card: TuningCard): Promise<string> {
  const points = card.results.map((result, index) => ({
    x: index + 1,
    y: result.score ?? Number.NaN,
    group: rungName(result),
  }));
  const chosenIndex = card.results.findLastIndex(
    (result) => result.trial === card.chosenTrial && result.score !== undefined,
  );
  const chosen = chosenIndex >= 0 ? card.results[chosenIndex] : undefined;
  const scored = points.filter((point) => Number.isFinite(point.y)).length;
  const chart =
    scored === 0
      ? ''
      : chartFigure(
          'tuning-trials',
          await groupedScatterChart({
            points,
            xTitle: 'trial run, in the order the rungs ran',
            yTitle: `mean ${card.metric} over ${card.folds} folds`,
            groupTitle: 'rung',
            groups: card.rungs.map(rungName),
            marked: chosen ? [{ x: chosenIndex + 1, y: chosen.score as number }] : [],
          }),
          `Every trial run's mean ${card.metric} on its folds (${card.lowerIsBetter ? 'lower' : 'higher'} is better), coloured by rung; the ringed one is the chosen trial.`,
        );
  const stopped = card.results.filter((result) => result.stopped === 'budget').length;
  const failed = card.results.filter((result) => result.stopped === 'failed');
  const folds = card.ordered
    ? `${card.folds} time-ordered folds of the training rows (each trains on the rows before its block and is scored on the block)`
    : `${card.folds} folds of the training rows (seeded k-fold)`;
  const strategy =
    card.strategy === 'random'
      ? `Random search: ${card.trials} trials, each with all rounds`
      : `Successive halving: ${card.trials} trials, ${card.rungs
          .map((rung) => `${rung.trials} on ${share(rung.fraction)}`)
          .join(', then the best ')} (each rung keeps the best 1/${card.reduction})`;
  const outcome =
    card.chosenTrial === undefined
      ? '<p class="fail">No trial scored within the budget: the model trained with the spec\'s own parameters.</p>'
      : `<p>Chosen: trial ${card.chosenTrial}${card.chosenTrial === 0 ? " (the spec's own parameters)" : ''}, mean ${escapeHtml(card.metric)} ${cardNumber(card.score)} on the folds. Its parameters trained the model and are in the signed manifest.</p>`;
  const trialParams = (result: TrialResult) =>
    card.tuned.map((name) => `${escapeHtml(name)} ${value(result.params[name])}`).join(', ');
  const rows = card.results.map((result) => [
    String(result.trial),
    rungName(result),
    result.score === undefined
      ? result.stopped === 'budget'
        ? 'stopped by the budget'
        : `failed: ${escapeHtml(result.reason ?? '')}`
      : cardNumber(result.score),
    trialParams(result),
    cardNumber(result.seconds),
  ]);
  return `<h2>Tuning</h2>
<p>${strategy}; scored on ${folds}, never on the test rows. Budget ${cardNumber(card.budgetMs / 60_000)} min, took ${cardNumber(card.seconds)} s${stopped > 0 ? `; ${stopped} trial runs stopped by the budget` : ''}${failed.length > 0 ? `; ${failed.length} refused by the trainer` : ''}.</p>
${outcome}
${chart}
${htmlTable(
  ['parameter', 'chosen'],
  Object.entries(card.params).map(([name, param]) => [
    `${card.tuned.includes(name) ? '<b>' : ''}${escapeHtml(name)}${card.tuned.includes(name) ? '</b> (tuned)' : ''}`,
    value(param),
  ]),
)}
<details><summary>Every trial run (${card.results.length})</summary>
${htmlTable(['trial', 'rung', `mean ${escapeHtml(card.metric)}`, 'parameters', 'seconds'], rows)}
</details>`;
}
