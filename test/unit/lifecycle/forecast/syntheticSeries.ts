/**
 * Deterministic synthetic order history for forecasting tests and the bench: weekly orders per
 * (material, segment) series of different sizes, with a trend, a yearly season, the shop calendar's
 * holidays and shutdowns (orders scale with working days) and Poisson noise.
 */
import { MS_PER_DAY, workingDaysIn } from '../../../../lifecycle/forecast/calendar';
import { categoricalFromLabels, Table } from '../../../../ml/table';

/** Monday 2023-01-02, the first week of the synthetic history. */
export const SYNTHETIC_START = Date.UTC(2023, 0, 2);

/** A small linear congruential generator: the same numbers on every machine. */
function uniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return (state + 0.5) / 2 ** 32;
  };
}

/** A Poisson draw: Knuth's product method for small means, a rounded normal for large ones. */
function poisson(mean: number, next: () => number): number {
  if (mean <= 0) return 0;
  if (mean > 30) {
    const normal = Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
    return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal));
  }
  const limit = Math.exp(-mean);
  let count = 0;
  let product = next();
  while (product > limit) {
    count += 1;
    product *= next();
  }
  return count;
}

/** The expected weekly orders of series `index` in week `week` (before noise). */
export function expectedOrders(index: number, week: number, seriesCount: number): number {
  const size = 2 + (60 * ((index * 7919) % seriesCount)) / seriesCount;
  const phase = ((index % 5) * Math.PI) / 5;
  const season = 1 + 0.35 * Math.sin((2 * Math.PI * week) / 52.18 + phase);
  const trend = 1 + (((index % 3) - 1) * 0.15 * week) / 52;
  const day = Math.round((SYNTHETIC_START + week * 7 * MS_PER_DAY) / MS_PER_DAY);
  return (size * season * trend * workingDaysIn(day, 7)) / 5;
}

/**
 * Order rows (`week_start` epoch ms, `material`, `segment`, `orders`): one row per series and week
 * with orders (none when a week has 0), a week's orders split over two rows for every third week.
 */
export function syntheticOrders(options: { series: number; weeks: number; seed?: number }): Table {
  const next = uniform(options.seed ?? 7);
  const materials = ['aluminium', 'copper', 'stainless', 'steel', 'galvanised'];
  const times: number[] = [];
  const material: string[] = [];
  const segment: string[] = [];
  const orders: number[] = [];
  for (let index = 0; index < options.series; index++) {
    for (let week = 0; week < options.weeks; week++) {
      const count = poisson(expectedOrders(index, week, options.series), next);
      if (count === 0) continue;
      const parts =
        week % 3 === 0 && count > 1 ? [Math.floor(count / 2), count - Math.floor(count / 2)] : [count];
      for (const part of parts) {
        // Rows fall anywhere in their week: the frame floors them to Monday.
        times.push(SYNTHETIC_START + week * 7 * MS_PER_DAY + Math.floor(next() * 5) * MS_PER_DAY + 3_600_000);
        material.push(materials[index % materials.length] as string);
        segment.push(`segment-${Math.floor(index / materials.length)}`);
        orders.push(part);
      }
    }
  }
  return new Table([
    { kind: 'numeric', name: 'week_start', values: Float64Array.from(times) },
    categoricalFromLabels('material', material),
    categoricalFromLabels('segment', segment),
    { kind: 'numeric', name: 'orders', values: Float64Array.from(orders) },
  ]);
}
