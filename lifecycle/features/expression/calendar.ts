/**
 * Date parts of times held as epoch milliseconds, in UTC, by day arithmetic rather than a `Date`
 * per row: a snapshot reads timestamps as UTC epoch milliseconds (`lifecycle/ingest/plan.ts`), so
 * the parts do not depend on the worker's time zone.
 */

export const MS_PER_DAY = 86_400_000;
const MS_PER_HOUR = 3_600_000;

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1-12), after H. Hinnant's `days_from_civil`. */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const monthFromMarch = month > 2 ? month - 3 : month + 9;
  const dayOfYear = Math.floor((153 * monthFromMarch + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** The year and month (1-12) of a day count since 1970-01-01, after H. Hinnant's `civil_from_days`. */
function civilFromDays(days: number): { year: number; month: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153);
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month };
}

/** Hour of the day, 0-23. */
export function hourOf(ms: number): number {
  return Math.floor((ms - Math.floor(ms / MS_PER_DAY) * MS_PER_DAY) / MS_PER_HOUR);
}

/** ISO day of the week: 1 Monday ... 7 Sunday (1970-01-01 was a Thursday). */
export function dayOfWeekOf(ms: number): number {
  const days = Math.floor(ms / MS_PER_DAY);
  return ((((days + 3) % 7) + 7) % 7) + 1;
}

/** Month of the year, 1-12. */
export function monthOf(ms: number): number {
  return civilFromDays(Math.floor(ms / MS_PER_DAY)).month;
}

/** ISO week of the year, 1-53: the week (Monday to Sunday) whose Thursday falls in that year. */
export function isoWeekOf(ms: number): number {
  const days = Math.floor(ms / MS_PER_DAY);
  const thursday = days - (dayOfWeekOf(ms) - 1) + 3;
  const { year } = civilFromDays(thursday);
  return Math.floor((thursday - daysFromCivil(year, 1, 1)) / 7) + 1;
}

/**
 * A date or time written in an expression, as epoch milliseconds: `2020-01-01`, `2020-01-01T06:00`,
 * `2020-01-01 06:00:30` or with a trailing `Z`; always UTC (no other offset is accepted, so a spec
 * means the same instant on every machine).
 *
 * @returns undefined when the text is not such a date or the date does not exist (2021-02-29)
 */
export function parseDateLiteral(text: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?Z?$/.exec(text);
  if (!match) return undefined;
  // Groups that did not match (no time of day) are undefined and read as 0.
  const part = (index: number) => Number(match[index] ?? 0);
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map(part) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const days = daysFromCivil(year, month, day);
  // A day past the month's end (02-30) lands in the next month: refuse it.
  if (civilFromDays(days).month !== month) return undefined;
  return days * MS_PER_DAY + hour * MS_PER_HOUR + minute * 60_000 + second * 1000;
}
