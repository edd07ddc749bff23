/**
 * The monitoring page's sections for classifiers: calibration with its reliability table, the class
 * balance at training and now, and per slice the rates the fairness watch compares for a binary
 * model (predicted positive, actual positives caught).
 */
import { escapeHtml, htmlTable } from '../reports/html';
import { number, share, status } from './pageCells';
import type { MonitoringReport } from './report';

/** The ECE at training and now, and which probabilities came true how often; '' for regression. */
export function calibrationSection(report: MonitoringReport): string {
  const { calibration } = report;
  if (!calibration) return '';
  const summary = htmlTable(
    ['statistic', 'at training', 'now', 'expected by chance', 'alarm beyond', 'labelled rows', ''],
    [
      [
        'expected calibration error',
        number(calibration.referenceValue),
        number(calibration.currentValue),
        number(calibration.chance),
        number(calibration.allowed),
        number(calibration.rows),
        status(calibration.judged, calibration.alarm, calibration.reason),
      ],
    ],
  );
  const probability =
    report.task === 'multiclass' ? 'probability of the predicted class' : 'probability of class 1';
  const bins = calibration.bins
    .filter((bin) => bin.rows > 0)
    .map((bin) => [
      `${share(bin.from)} to ${share(bin.to)}`,
      number(bin.rows),
      share(bin.confidence),
      share(bin.observed),
    ]);
  return `<h2>Calibration on labelled outcomes</h2>
${summary}
${htmlTable([probability, 'labelled rows', 'mean probability', report.task === 'multiclass' ? 'right' : 'class 1'], bins)}`;
}

/** The share of each class among the labelled outcomes and at training; '' for regression. */
export function classBalanceSection(report: MonitoringReport): string {
  const { classPrior } = report;
  if (!classPrior) return '';
  const where = classPrior.reference === 'test' ? 'test rows at training' : 'training rows';
  const summary = htmlTable(
    ['chi-square', 'degrees of freedom', 'p-value', 'alarm below', 'labelled rows', ''],
    [
      [
        number(classPrior.statistic),
        number(classPrior.degreesOfFreedom),
        number(classPrior.pValue),
        number(classPrior.level),
        number(classPrior.rows),
        status(classPrior.judged, classPrior.alarm, classPrior.reason),
      ],
    ],
  );
  const classes = classPrior.classes.map((entry) => [
    `<code>${escapeHtml(entry.label)}</code>`,
    share(entry.reference),
    share(entry.current),
    number(entry.rows),
  ]);
  return `<h2>Class balance of labelled outcomes</h2>
${summary}
${htmlTable([report.target, `share of ${where}`, 'share now', 'labelled rows now'], classes)}`;
}

/** A binary model's slices with the rates disparate impact and equal opportunity compare. */
export function binarySliceTable(report: MonitoringReport): string {
  const slices = report.fairness?.slices ?? [];
  const rows = slices.map((slice) => [
    escapeHtml(slice.segment),
    escapeHtml(slice.slice),
    number(slice.rows),
    number(slice.positives),
    share(slice.positivePredictionRate),
    share(slice.truePositiveRate),
    share(slice.accuracy),
    slice.judged ? 'yes' : 'too few rows',
  ]);
  return htmlTable(
    [
      'segment',
      'slice',
      'labelled rows',
      'actual positives',
      'predicted positive',
      'actual positives caught',
      'accuracy',
      'judged',
    ],
    rows,
  );
}
