/**
 * The shop's working calendar, known ahead of time: public holidays (the German federal ones) and the
 * plant's shutdowns (Christmas to New Year, and two summer weeks from the first Monday of August).
 * Order forecasting reads it as the working days of each future period; the shop generator books no
 * orders on a day it is closed. Dates are UTC days (epoch milliseconds at 00:00 UTC).
 */
import { daysFromCivil, MS_PER_DAY } from '../features/expression/calendar';

export { MS_PER_DAY };

/** Easter Sunday of a Gregorian year as days since 1970-01-01 (the anonymous Gregorian algorithm). */
export function easterSunday(year: number): number {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return daysFromCivil(year, month, day);
}

/** The public holidays of a year (days since 1970-01-01), with their names. */
export function publicHolidays(year: number): { day: number; name: string }[] {
  const easter = easterSunday(year);
  return [
    { day: daysFromCivil(year, 1, 1), name: "New Year's Day" },
    { day: easter - 2, name: 'Good Friday' },
    { day: easter + 1, name: 'Easter Monday' },
    { day: daysFromCivil(year, 5, 1), name: 'Labour Day' },
    { day: easter + 39, name: 'Ascension Day' },
    { day: easter + 50, name: 'Whit Monday' },
    { day: daysFromCivil(year, 10, 3), name: 'German Unity Day' },
    { day: daysFromCivil(year, 12, 25), name: 'Christmas Day' },
    { day: daysFromCivil(year, 12, 26), name: 'Boxing Day' },
  ];
}

/** Day of the week of a day count since 1970-01-01: 0 = Monday ... 6 = Sunday. */
export function weekdayOf(day: number): number {
  // 1970-01-01 was a Thursday (3 with Monday = 0).
  return (((day + 3) % 7) + 7) % 7;
}

/** The plant's shutdowns of a year as inclusive day ranges: 24-31 December and two weeks of August. */
export function plantShutdowns(year: number): { from: number; to: number; name: string }[] {
  const augustFirst = daysFromCivil(year, 8, 1);
  const firstMonday = augustFirst + ((7 - weekdayOf(augustFirst)) % 7);
  return [
    { from: firstMonday, to: firstMonday + 13, name: 'summer shutdown' },
    { from: daysFromCivil(year, 12, 24), to: daysFromCivil(year, 12, 31), name: 'Christmas shutdown' },
  ];
}

const yearsCache = new Map<number, Set<number>>();

/** The closed weekdays of a year (holidays and shutdowns), cached per year. */
function closedDays(year: number): Set<number> {
  let closed = yearsCache.get(year);
  if (!closed) {
    closed = new Set(publicHolidays(year).map((holiday) => holiday.day));
    for (const shutdown of plantShutdowns(year)) {
      for (let day = shutdown.from; day <= shutdown.to; day++) closed.add(day);
    }
    yearsCache.set(year, closed);
  }
  return closed;
}

/** The UTC year of a day count since 1970-01-01. */
function yearOfDay(day: number): number {
  return new Date(day * MS_PER_DAY).getUTCFullYear();
}

/** Whether the shop takes orders on a day: Monday to Friday, not a public holiday, not shut down. */
export function isWorkingDay(day: number): boolean {
  if (weekdayOf(day) >= 5) return false;
  return !closedDays(yearOfDay(day)).has(day);
}

/** How many working days lie in `[firstDay, firstDay + length)`. */
export function workingDaysIn(firstDay: number, length: number): number {
  let count = 0;
  for (let day = firstDay; day < firstDay + length; day++) if (isWorkingDay(day)) count += 1;
  return count;
}
