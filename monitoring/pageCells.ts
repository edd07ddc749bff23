/** The cells the monitoring page's sections share: numbers, shares and a measure's status. */
import { formatNumber } from '../lifecycle/gates/quality';
import { escapeHtml } from '../reports/html';
import { percent } from './report';

/** A number to 4 significant digits; `–` when there is none. */
export const number = (value: number | null | undefined): string =>
  value === null || value === undefined || !Number.isFinite(value) ? '–' : formatNumber(value);

/** A share as a percentage; `–` when there is none. */
export const share = (value: number | null | undefined): string =>
  value === null || value === undefined || !Number.isFinite(value) ? '–' : percent(value);

/** ALARM, ok, or "not judged: why". */
export function status(judged: boolean, alarm: boolean, reason: string | undefined): string {
  if (!judged) return `<span class="muted">not judged: ${escapeHtml(reason ?? 'no reason given')}</span>`;
  return alarm ? '<span class="fail">ALARM</span>' : '<span class="pass">ok</span>';
}
