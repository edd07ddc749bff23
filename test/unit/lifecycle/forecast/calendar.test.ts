import { describe, expect, it } from 'vitest';
import {
  easterSunday,
  isWorkingDay,
  plantShutdowns,
  publicHolidays,
  weekdayOf,
  workingDaysIn,
} from '../../../../lifecycle/forecast/calendar';
import { daysFromCivil } from '../../../../lifecycle/features/expression/calendar';

const day = (text: string) => Date.parse(`${text}T00:00:00Z`) / 86_400_000;

describe('the shop calendar', () => {
  it('finds Easter Sunday of known years', () => {
    expect(easterSunday(2024)).toBe(day('2024-03-31'));
    expect(easterSunday(2025)).toBe(day('2025-04-20'));
    expect(easterSunday(2026)).toBe(day('2026-04-05'));
  });

  it('names the weekday with Monday as 0', () => {
    expect(weekdayOf(day('2026-12-07'))).toBe(0);
    expect(weekdayOf(day('2026-12-06'))).toBe(6);
  });

  it('closes on public holidays, weekends and the plant shutdowns', () => {
    const holidays = publicHolidays(2025).map((holiday) => holiday.day);
    expect(holidays).toContain(day('2025-04-18'));
    expect(holidays).toContain(day('2025-06-09'));
    expect(isWorkingDay(day('2025-04-18'))).toBe(false);
    expect(isWorkingDay(day('2025-04-17'))).toBe(true);
    expect(isWorkingDay(day('2025-04-19'))).toBe(false);
    const [summer] = plantShutdowns(2025);
    expect(summer?.from).toBe(day('2025-08-04'));
    expect(isWorkingDay(day('2025-08-08'))).toBe(false);
    expect(isWorkingDay(day('2025-12-29'))).toBe(false);
    expect(isWorkingDay(day('2026-01-02'))).toBe(true);
  });

  it('counts working days of a week', () => {
    expect(workingDaysIn(daysFromCivil(2025, 3, 3), 7)).toBe(5);
    expect(workingDaysIn(day('2025-04-14'), 7)).toBe(4);
    expect(workingDaysIn(day('2025-08-04'), 7)).toBe(0);
  });
});
