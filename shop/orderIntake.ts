/**
 * Generates the shop's order intake day by day: the order lines its customers place, with the
 * structure order forecasting has to find (a trend, yearly seasonality, a weekday profile, closed
 * days, customers who order in project bursts). Pure and deterministic: a line depends only on the
 * seed, its day and its customer, so the same seed gives the same rows however the days are split
 * into runs.
 *
 * Every customer has a demand profile: a base rate of lines per working day (the segment's volume
 * shared out unevenly) and a mix over the material families. One large customer, the key account,
 * orders mostly mild steel, about a third of its series. On a day the expected lines of a customer
 * and family are
 *
 *   rate x mix x trend (+8 %/year) x season (spring and autumn busy, summer and December slow)
 *   x weekday (Monday busiest, Friday light) x the customer's week (project weeks or none)
 *   x the scenario's factor,
 *
 * drawn as a Poisson count; nothing is ordered on a day the shop is closed (`isWorkingDay`).
 */
import { daysFromCivil } from '../lifecycle/features/expression/calendar';
import { isWorkingDay, MS_PER_DAY, weekdayOf } from '../lifecycle/forecast/calendar';
import type { Random } from '../ml/random';
import { FAMILIES, MATERIALS, type SizeSegment } from './catalogue';
import { type Customer, QUANTITY_MEDIAN, shopCustomers } from './customers';
import { entityRandom, lognormal, pick, STREAM_ORDER_INTAKE } from './randomness';
import { DEMAND_SURGE_FACTOR, type OrderScenario, STEEL_DEMAND_FACTOR } from './scenarios';

/** The families customers order (titanium only ever comes with the jobs' `new-material` drift). */
export const ORDER_FAMILIES = ['mild_steel', 'galvanised_steel', 'stainless_steel', 'aluminium'] as const;
export type OrderFamily = (typeof ORDER_FAMILIES)[number];

/** One order line as `shop.order_intake` holds it. */
export interface OrderLine {
  orderLineId: number;
  customerId: number;
  sizeSegment: SizeSegment;
  materialFamily: OrderFamily;
  /** Days since 1970-01-01 (UTC). */
  orderedOn: number;
  quantity: number;
  /** Laser time for the whole quantity, set-up included. */
  laserHours: number;
  /** Sheet metal for the whole quantity (kg; aluminium too, the column keeps the shop's word). */
  steelKg: number;
}

/** A customer's demand: lines per working day at the trend's origin and the share of each family. */
export interface CustomerDemand {
  customer: Customer;
  linesPerDay: number;
  mix: Record<OrderFamily, number>;
}

export interface OrderIntakeOptions {
  seed: number;
  /** The first day to generate, in days since 1970-01-01. */
  firstDay: number;
  /** How many days from `firstDay`. */
  days: number;
  /** The id of the first line: 1 for a new history, after the table's last line when appending. */
  firstOrderLineId: number;
  /** @default 'none' */
  scenario?: OrderScenario;
}

/** Order lines per week of each segment at the trend's origin, in an ordinary 5-day week. */
const SEGMENT_LINES_PER_WEEK: Record<SizeSegment, number> = { small: 230, medium: 250, large: 220 };
/** The families' shares of the shop's lines; each customer's mix scatters around them. */
const FAMILY_SHARE: Record<OrderFamily, number> = {
  mild_steel: 0.45,
  galvanised_steel: 0.16,
  stainless_steel: 0.2,
  aluminium: 0.19,
};
/**
 * The key account's mix: it buys every family as the shop's customers do, so it holds about
 * KEY_ACCOUNT_SHARE of each large-customer series (about an eighth of the shop's lines), and its
 * leaving is felt across the shop, as a key account's would be.
 */
const KEY_ACCOUNT_MIX: Record<OrderFamily, number> = { ...FAMILY_SHARE };
const KEY_ACCOUNT_SHARE = 0.35;
/** Volume grows this much a year, from the origin on (before it, the volume is lower). */
const YEARLY_GROWTH = 0.08;
const TREND_ORIGIN = daysFromCivil(2024, 1, 1);
/** Monday to Friday, mean 1. */
const WEEKDAY_FACTOR = [1.3, 1.1, 1.0, 0.95, 0.65] as const;
/** Chance that a customer's week is a project week, and how the lines of a week scatter, per segment. */
const PROJECT_WEEKS: Record<SizeSegment | 'key', { active: number; sigma: number }> = {
  small: { active: 1, sigma: 0 },
  medium: { active: 0.75, sigma: 0.4 },
  large: { active: 0.4, sigma: 0.35 },
  key: { active: 0.75, sigma: 0.3 },
};

// Ids within the order-intake stream: profiles use the customer id (below 1024), a customer's week
// the negative of week x 1024 + customer, a customer's day day x 1024 + customer (days from 1970-01-02).
const ID_SPACE = 1024;

/** The key account: the large customer with the lowest id, the biggest single customer of each large-customer series. */
export function keyAccount(): { customerId: number; sizeSegment: SizeSegment; materialFamily: OrderFamily } {
  return { customerId: keyAccountId(), sizeSegment: 'large', materialFamily: 'mild_steel' };
}

let keyAccountIdCache: number | undefined;
function keyAccountId(): number {
  if (keyAccountIdCache === undefined) {
    const customer = shopCustomers().find((candidate) => candidate.sizeSegment === 'large');
    if (!customer) throw new Error('the shop has no large customer');
    keyAccountIdCache = customer.customerId;
  }
  return keyAccountIdCache;
}

const demandCache = new Map<number, CustomerDemand[]>();

/** Every customer's demand profile under a seed (the customers are the shop's, the same for every seed). */
export function customerDemand(seed: number): CustomerDemand[] {
  const cached = demandCache.get(seed);
  if (cached) return cached;
  const key = keyAccountId();
  const drafts = shopCustomers().map((customer) => {
    const random = entityRandom(seed, STREAM_ORDER_INTAKE, customer.customerId);
    const weight = lognormal(random, 1, 0.6);
    const specialist =
      customer.sizeSegment === 'small' && random.next() < 0.3 ? pick(random, ORDER_FAMILIES) : null;
    const raw = ORDER_FAMILIES.map(
      (family) => FAMILY_SHARE[family] * lognormal(random, 1, 0.7) * (family === specialist ? 4 : 1),
    );
    const total = raw.reduce((sum, value) => sum + value, 0);
    const mix = Object.fromEntries(
      ORDER_FAMILIES.map((family, index) => [family, (raw[index] ?? 0) / total]),
    );
    return { customer, weight, mix: mix as Record<OrderFamily, number> };
  });
  // The segment's volume shared out by weight, the key account left out of the sharing.
  const demand: CustomerDemand[] = [];
  for (const segment of ['small', 'medium', 'large'] as const) {
    const members = drafts.filter((d) => d.customer.sizeSegment === segment && d.customer.customerId !== key);
    const weights = members.reduce((sum, d) => sum + d.weight, 0);
    for (const d of members) {
      const linesPerDay = ((SEGMENT_LINES_PER_WEEK[segment] / 5) * d.weight) / weights;
      demand.push({ customer: d.customer, linesPerDay, mix: d.mix });
    }
  }
  // The key account's mild steel lines are KEY_ACCOUNT_SHARE of its series by expectation.
  const othersMild = demand
    .filter((d) => d.customer.sizeSegment === 'large')
    .reduce((sum, d) => sum + d.linesPerDay * d.mix.mild_steel, 0);
  const keyCustomer = drafts.find((d) => d.customer.customerId === key)?.customer;
  if (!keyCustomer) throw new Error('the key account is not among the customers');
  demand.push({
    customer: keyCustomer,
    linesPerDay: (othersMild * KEY_ACCOUNT_SHARE) / (1 - KEY_ACCOUNT_SHARE) / KEY_ACCOUNT_MIX.mild_steel,
    mix: { ...KEY_ACCOUNT_MIX },
  });
  demand.sort((a, b) => a.customer.customerId - b.customer.customerId);
  demandCache.set(seed, demand);
  return demand;
}

/** The trend's factor on a day: +8 % a year from 2024-01-01, continuing across runs. */
export function trendFactor(day: number): number {
  return (1 + YEARLY_GROWTH) ** ((day - TREND_ORIGIN) / 365.25);
}

/** The yearly season's factor on a day: peaks mid-April and mid-October, dips in July, August and December. */
export function seasonFactor(day: number): number {
  const date = new Date(day * MS_PER_DAY);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth() + 1;
  const dayOfYear = day - daysFromCivil(year, 1, 1);
  const twicePerYear = 1 + 0.15 * Math.cos((4 * Math.PI * (dayOfYear - 105)) / 365.25);
  const slow = month === 12 ? 0.75 : month === 7 || month === 8 ? 0.85 : 1;
  return twicePerYear * slow;
}

/** Monday-based week number since 1970 (1970-01-05, a Monday, starts week 1). */
function weekOf(day: number): number {
  return Math.floor((day + 3) / 7);
}

/** How busy a customer is in a week: 0 outside its project weeks, about 1 on average. */
function weekFactor(seed: number, demand: CustomerDemand, week: number): number {
  const { customerId, sizeSegment } = demand.customer;
  const profile = PROJECT_WEEKS[customerId === keyAccountId() ? 'key' : sizeSegment];
  if (profile.active >= 1 && profile.sigma === 0) return 1;
  const random = entityRandom(seed, STREAM_ORDER_INTAKE, -(week * ID_SPACE + customerId));
  if (random.next() >= profile.active) return 0;
  // A lognormal with mean 1, scaled so that the weeks average 1 over active and idle ones.
  return lognormal(random, Math.exp((-profile.sigma * profile.sigma) / 2), profile.sigma) / profile.active;
}

/** A scenario's factor on one customer's lines of one family. */
function scenarioFactor(scenario: OrderScenario, customerId: number, family: OrderFamily): number {
  switch (scenario) {
    case 'none':
      return 1;
    case 'customer-leaves':
      return customerId === keyAccountId() ? 0 : 1;
    case 'demand-surge':
      return DEMAND_SURGE_FACTOR;
    case 'price-shock':
      return FAMILIES[family].steel ? STEEL_DEMAND_FACTOR : 1;
  }
}

/** A Poisson count by inversion of one uniform draw, so a lower rate never gives more lines. */
function poisson(uniform: number, rate: number): number {
  if (rate <= 0) return 0;
  let probability = Math.exp(-rate);
  let cumulative = probability;
  let count = 0;
  while (uniform > cumulative && count < 10_000) {
    count += 1;
    probability *= rate / count;
    cumulative += probability;
  }
  return count;
}

const FAMILY_DENSITY = Object.fromEntries(
  ORDER_FAMILIES.map((family) => {
    const grades = MATERIALS.filter((material) => material.family === family);
    return [family, grades.reduce((sum, material) => sum + material.densityKgM3, 0) / grades.length];
  }),
) as Record<OrderFamily, number>;

/** A line's quantity, laser hours and sheet mass: a part's blank and thickness, cut at its family's speed. */
function lineFigures(
  random: Random,
  segment: SizeSegment,
  family: OrderFamily,
): { quantity: number; laserHours: number; steelKg: number } {
  const quantity = Math.max(1, Math.round(lognormal(random, QUANTITY_MEDIAN[segment], 0.8)));
  const thicknessMm = pick(random, FAMILIES[family].thicknessesMm);
  const blankM2 = Math.min(3, Math.max(0.005, lognormal(random, 0.15, 0.8)));
  const cutLengthM = 5 * Math.sqrt(blankM2);
  // Metres per minute: falls with thickness (about t^-1.25), by the family's speed.
  const speed = 30 * FAMILIES[family].laserSpeed * thicknessMm ** -1.25;
  const laserHours = 0.15 + (quantity * cutLengthM) / (speed * 60);
  const steelKg = (quantity * blankM2 * thicknessMm * FAMILY_DENSITY[family]) / 1000;
  return { quantity, laserHours, steelKg };
}

/** The order lines of `days` days from `firstDay`, numbered from `firstOrderLineId`, in day and customer order. */
export function generateOrderIntake(options: OrderIntakeOptions): OrderLine[] {
  const scenario = options.scenario ?? 'none';
  if (!Number.isSafeInteger(options.firstDay) || options.firstDay < 1)
    throw new RangeError(`firstDay must be a day after 1970-01-01 (got ${options.firstDay})`);
  const demand = customerDemand(options.seed);
  const lines: OrderLine[] = [];
  let orderLineId = options.firstOrderLineId;
  for (let day = options.firstDay; day < options.firstDay + options.days; day++) {
    if (!isWorkingDay(day)) continue;
    const dayFactor = trendFactor(day) * seasonFactor(day) * (WEEKDAY_FACTOR[weekdayOf(day)] ?? 1);
    const week = weekOf(day);
    for (const customer of demand) {
      const busy = weekFactor(options.seed, customer, week);
      if (busy === 0) continue;
      const { customerId, sizeSegment } = customer.customer;
      const random = entityRandom(options.seed, STREAM_ORDER_INTAKE, day * ID_SPACE + customerId);
      // One uniform per family first, so a scenario changes counts without shifting other draws.
      const uniforms = ORDER_FAMILIES.map(() => random.next());
      ORDER_FAMILIES.forEach((family, index) => {
        const rate =
          customer.linesPerDay *
          customer.mix[family] *
          dayFactor *
          busy *
          scenarioFactor(scenario, customerId, family);
        const count = poisson(uniforms[index] ?? 0, rate);
        for (let line = 0; line < count; line++) {
          const figures = lineFigures(random, sizeSegment, family);
          lines.push({
            orderLineId: orderLineId++,
            customerId,
            sizeSegment,
            materialFamily: family,
            orderedOn: day,
            ...figures,
          });
        }
      });
    }
  }
  return lines;
}

/** The columns of `shop.order_intake` in the order `orderIntakeCopyText` writes them. */
export const ORDER_INTAKE_COLUMNS = [
  'order_line_id',
  'customer_id',
  'size_segment',
  'material_family',
  'ordered_on',
  'quantity',
  'laser_hours',
  'steel_kg',
] as const;

/** A day count as an ISO date (YYYY-MM-DD). */
export function isoDate(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

/** COPY text (tab-separated, one line per row) of order lines, numbers with fixed decimals. */
export function orderIntakeCopyText(lines: readonly OrderLine[]): string {
  if (lines.length === 0) return '';
  const rows = lines.map((line) =>
    [
      line.orderLineId,
      line.customerId,
      line.sizeSegment,
      line.materialFamily,
      isoDate(line.orderedOn),
      line.quantity,
      line.laserHours.toFixed(4),
      line.steelKg.toFixed(3),
    ].join('\t'),
  );
  return `${rows.join('\n')}\n`;
}
