/** The shop's calendar: working shifts, which shift a job is released into, and who is on it. */
import { CALENDAR_START, JOBS_PER_SHIFT, SHIFTS } from './catalogue';
import { entityRandom, STREAM_SHIFT } from './randomness';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Working shifts: Monday to Friday three a day, Saturday the early one (16 a week). */
export function shiftCalendar(shiftId: number): {
  date: string;
  shift: (typeof SHIFTS)[number];
  startsAt: number;
} {
  const index = shiftId - 1;
  const week = Math.floor(index / 16);
  const slot = index % 16;
  const day = slot < 15 ? Math.floor(slot / 3) : 5;
  const shift = SHIFTS[slot < 15 ? slot % 3 : 0] ?? 'early';
  const dayStart = CALENDAR_START + (week * 7 + day) * DAY;
  const startsAt = dayStart + (shift === 'early' ? 6 : shift === 'late' ? 14 : 22) * HOUR;
  return { date: new Date(dayStart).toISOString().slice(0, 10), shift, startsAt };
}

/** The shift a job is released into. */
export function shiftOfJob(jobId: number): number {
  return Math.floor((jobId - 1) / JOBS_PER_SHIFT) + 1;
}

/** Operators on a shift: the night shift runs thin. */
export function operatorCount(seed: number, shiftId: number): number {
  const random = entityRandom(seed, STREAM_SHIFT, shiftId);
  const shift = shiftCalendar(shiftId).shift;
  if (shift === 'night') return 3 + random.below(3);
  return (shift === 'early' ? 6 : 5) + random.below(4);
}
