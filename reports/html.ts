/** The HTML pieces the model card and the nightly report share: escaping, tables, check and slice rows. */
import type { FairnessSlice } from '../lifecycle/gates/fairness';
import type { GateCheck } from '../lifecycle/gates/verdict';

/** Text as HTML: every character with a meaning in markup becomes a character reference. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** A table: headers escaped here, cells already HTML. */
export function htmlTable(headers: string[], rows: string[][]): string {
  const head = headers.map((header) => `<th>${escapeHtml(header)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((cell) => `<td>${cell}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/**
 * A gate's checks as table rows (pass / FAIL / reported, the check's name, what was found).
 *
 * @param judged false when the whole check set was only reported (too few rows to judge any)
 */
export function checkRows(checks: readonly GateCheck[], judged = true): string[][] {
  return checks.map((check) => [
    check.judged && judged
      ? check.passed
        ? '<span class="pass">pass</span>'
        : '<span class="fail">FAIL</span>'
      : 'reported',
    escapeHtml(check.name),
    escapeHtml(check.message),
  ]);
}

/** Per-slice measures as table rows: segment, slice, rows, error, error ratio, bias, judged. */
export function sliceRows(
  slices: readonly FairnessSlice[],
  number: (value: number | null | undefined) => string,
): string[][] {
  return slices.map((slice) => [
    escapeHtml(slice.segment),
    escapeHtml(slice.slice),
    number(slice.rows),
    number(slice.rmse ?? slice.positivePredictionRate ?? slice.accuracy),
    number(slice.errorRatio),
    number(slice.bias),
    slice.judged ? 'yes' : 'too few rows',
  ]);
}
