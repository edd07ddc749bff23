/**
 * The monitoring page's sections for the versions served beside production: the canary against
 * production on labelled outcomes (with what the check decided), and the shadow against production
 * on the same requests. Empty when the model has neither.
 */
import { escapeHtml, htmlTable } from '../reports/html';
import { canarySentence } from './canary';
import { number, share } from './pageCells';
import type { MonitoringReport } from './report';
import { comparisonMetricLabel } from './versionErrors';

function canaryDecision(report: MonitoringReport): string {
  const canary = report.canary;
  if (!canary) return '';
  switch (canary.verdict) {
    case 'worse':
      return canary.aborted
        ? '<span class="fail">worse beyond the bound: aborted</span>'
        : '<span class="fail">worse beyond the bound; not aborted</span>';
    case 'within-bound':
      return '<span class="pass">within the bound: keeps serving</span>';
    case 'too-few-outcomes':
      return '<span class="muted">too few labelled outcomes: no decision</span>';
  }
}

/** The canary's error and production's, side by side, and the decision. */
export function canarySection(report: MonitoringReport): string {
  const canary = report.canary;
  if (!canary) return '';
  const label = comparisonMetricLabel(canary.task, canary.metric);
  const rows = [
    ['canary', canary.canary],
    ['production', canary.production],
  ] as const;
  return `<h2>Canary against production: ${canaryDecision(report)}</h2>
<p>${escapeHtml(canarySentence(canary))}</p>
${htmlTable(
  ['alias', 'version', label, 'labelled outcomes', 'left out'],
  rows.map(([alias, side]) => [
    alias,
    `v${side.version}`,
    number(side.value),
    number(side.outcomes),
    number(side.leftOut),
  ]),
)}
${htmlTable(
  ['error ratio', 'bound', 'fewest outcomes per side', 'since'],
  [
    [
      number(canary.ratio),
      number(canary.maxErrorRatio),
      number(canary.minOutcomes),
      escapeHtml(canary.since),
    ],
  ],
)}`;
}

/** How far the shadow agrees with production on the same requests, and each one's error on them. */
export function shadowSection(report: MonitoringReport): string {
  const shadow = report.shadow;
  if (!shadow) return '';
  const { agreement, outcomes } = shadow;
  const agreementTable =
    agreement.kind === 'regression'
      ? htmlTable(
          ['same requests', 'mean absolute difference', 'rows differing', 'tolerance', 'since'],
          [
            [
              number(shadow.rows),
              number(agreement.meanAbsoluteDifference),
              share(agreement.differingShare),
              `${share(agreement.tolerance)} of production's prediction`,
              escapeHtml(shadow.since),
            ],
          ],
        )
      : htmlTable(
          ['same requests', 'same class', 'since'],
          [[number(shadow.rows), share(agreement.sameClassShare), escapeHtml(shadow.since)]],
        );
  const errors = outcomes
    ? htmlTable(
        ['alias', 'version', comparisonMetricLabel(shadow.task, outcomes.metric), 'labelled outcomes'],
        [
          [
            'shadow',
            `v${shadow.shadowVersion}`,
            number(outcomes.shadow.value),
            number(outcomes.shadow.outcomes),
          ],
          [
            'production',
            `v${shadow.productionVersion}`,
            number(outcomes.production.value),
            number(outcomes.production.outcomes),
          ],
        ],
      )
    : '<p class="muted">None of these requests has a labelled outcome yet.</p>';
  return `<h2>Shadow v${shadow.shadowVersion} against production v${shadow.productionVersion} on the same requests</h2>
${agreementTable}
${errors}`;
}
