/**
 * Generates the shop's history job by job, as COPY text per table. Every job is a function of the
 * seed and its job id (plus the parts of earlier jobs in the same run, which repeat orders reuse), so
 * the same seed gives the same rows however the run is cut into batches.
 *
 * A job: a customer asks for a quantity of a part (a new drawing, or a repeat of one ordered
 * recently), the shop quotes it (and often an alternative quantity that is not taken), the customer
 * orders, the job is released into a shift, goes through its route (cut -> deburr -> bend -> weld ->
 * paint) with actual times, draws energy and leaves scrap.
 */
import type { Random } from '../ml/random';
import { FAMILIES, JOBS_PER_SHIFT, MACHINES, MATERIALS, SIZE_SEGMENTS } from './catalogue';
import { operatorCount, shiftCalendar, shiftOfJob } from './calendar';
import { type Customer, ORDER_WEIGHT, QUANTITY_MEDIAN, shopCustomers } from './customers';
import { type GeneratedPart, generatePart } from './parts';
import {
  clamp,
  type FloorConditions,
  loadFactor,
  nestingEfficiency,
  rejectRate,
  sheetMassKg,
  stepEnergyKwh,
} from './physics';
import { quote, type QuoteFigures } from './quote';
import { entityRandom, gaussian, lognormal, pick, STREAM_JOB, STREAM_PART } from './randomness';
import { chooseCutter, planRoute } from './route';
import { PRICE_SHOCK_FACTOR, type Scenario, WORN_MACHINE, WORN_SPEED_FACTOR } from './scenarios';

/** Tables a batch fills, in an order that satisfies their foreign keys. */
export const BATCH_TABLES = [
  'shifts',
  'parts',
  'quotes',
  'orders',
  'jobs',
  'route_steps',
  'job_energy',
  'job_scrap',
] as const;
export type BatchTable = (typeof BATCH_TABLES)[number];

export interface ShopBatch {
  /** COPY text format (tab-separated, one row per line) per table. */
  text: Record<BatchTable, string>;
  rows: Record<BatchTable, number>;
  firstJobId: number;
  lastJobId: number;
}

export interface GeneratorOptions {
  seed: number;
  scenario: Scenario;
  /** The first job id of this run: 1 for a new shop, after the last job when appending. */
  firstJobId: number;
  /** Shifts up to this id are already in the table. */
  lastShiftId: number;
  /** Material prices per kg now (the table's), before this run's scenario. */
  prices: ReadonlyMap<string, number>;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Repeat orders reuse a part from this many recent jobs of the run. */
const REPEAT_WINDOW = 20_000;
const REPEAT_SHARE = 0.3;
/** COPY text: numbers with a fixed number of decimals (stable across platforms), timestamps in UTC. */
const fixed = (value: number, digits: number) => value.toFixed(digits);
const timestamp = (ms: number) => new Date(Math.round(ms)).toISOString();
const date = (ms: number) => new Date(ms).toISOString().slice(0, 10);

class TableText {
  private readonly parts: string[] = [];
  rows = 0;
  add(...values: (string | number | boolean)[]): void {
    this.parts.push(values.join('\t'));
    this.rows++;
  }
  text(): string {
    return this.parts.length === 0 ? '' : `${this.parts.join('\n')}\n`;
  }
}

export class ShopGenerator {
  private nextJobId: number;
  private lastShiftId: number;
  private readonly customers = shopCustomers();
  private readonly customerCumulative: Float64Array;
  /** Parts of the run's recent jobs, for repeat orders; indexed by (job id - first) % window. */
  private readonly recentParts: (GeneratedPart | undefined)[] = new Array<GeneratedPart | undefined>(
    REPEAT_WINDOW,
  );
  private readonly prices: Map<string, number>;

  constructor(private readonly options: GeneratorOptions) {
    this.nextJobId = options.firstJobId;
    this.lastShiftId = options.lastShiftId;
    let total = 0;
    this.customerCumulative = Float64Array.from(
      this.customers,
      (customer) => (total += ORDER_WEIGHT[customer.sizeSegment]),
    );
    this.prices = new Map(options.prices);
    for (const material of MATERIALS) {
      if (!this.prices.has(material.materialId)) this.prices.set(material.materialId, material.pricePerKg);
    }
  }

  /** Material prices in force for this run's quotes (after the scenario). */
  static pricesAfter(scenario: Scenario, prices: ReadonlyMap<string, number>): Map<string, number> {
    const after = new Map(prices);
    if (scenario === 'price-shock') {
      for (const material of MATERIALS) {
        const price = after.get(material.materialId) ?? material.pricePerKg;
        if (FAMILIES[material.family].steel)
          after.set(material.materialId, Math.round(price * PRICE_SHOCK_FACTOR * 100) / 100);
      }
    }
    return after;
  }

  /** The next `count` jobs with everything they bring. */
  nextBatch(count: number): ShopBatch {
    const tables = Object.fromEntries(BATCH_TABLES.map((name) => [name, new TableText()])) as Record<
      BatchTable,
      TableText
    >;
    const firstJobId = this.nextJobId;
    const prices = ShopGenerator.pricesAfter(this.options.scenario, this.prices);
    for (let i = 0; i < count; i++) this.job(this.nextJobId++, tables, prices);
    return {
      text: Object.fromEntries(BATCH_TABLES.map((name) => [name, tables[name].text()])) as Record<
        BatchTable,
        string
      >,
      rows: Object.fromEntries(BATCH_TABLES.map((name) => [name, tables[name].rows])) as Record<
        BatchTable,
        number
      >,
      firstJobId,
      lastJobId: this.nextJobId - 1,
    };
  }

  private chooseCustomer(random: Random): Customer {
    const total = this.customerCumulative[this.customerCumulative.length - 1] ?? 1;
    const draw = random.next() * total;
    let low = 0;
    let high = this.customerCumulative.length - 1;
    while (low < high) {
      const mid = (low + high) >> 1;
      if ((this.customerCumulative[mid] ?? 0) > draw) high = mid;
      else low = mid + 1;
    }
    return this.customers[low] as Customer;
  }

  private ensureShift(shiftId: number, tables: Record<BatchTable, TableText>): void {
    while (this.lastShiftId < shiftId) {
      const id = ++this.lastShiftId;
      const calendar = shiftCalendar(id);
      tables.shifts.add(
        id,
        calendar.date,
        calendar.shift,
        timestamp(calendar.startsAt),
        operatorCount(this.options.seed, id),
      );
    }
  }

  private job(
    jobId: number,
    tables: Record<BatchTable, TableText>,
    prices: ReadonlyMap<string, number>,
  ): void {
    const { seed, scenario } = this.options;
    const random = entityRandom(seed, STREAM_JOB, jobId);
    const shiftId = shiftOfJob(jobId);
    this.ensureShift(shiftId, tables);
    const calendar = shiftCalendar(shiftId);
    const releasedAt =
      calendar.startsAt +
      (((jobId - 1) % JOBS_PER_SHIFT) / JOBS_PER_SHIFT) * 8 * HOUR +
      random.next() * 6 * 60_000;
    const conditions: FloorConditions = {
      operatorCount: operatorCount(seed, shiftId),
      night: calendar.shift === 'night',
      speedFactor: 1,
    };

    // The part: a repeat of a recent one, or a new drawing.
    const ranSoFar = jobId - this.options.firstJobId;
    let part: GeneratedPart;
    let isNewPart: boolean;
    if (ranSoFar > 0 && random.next() < REPEAT_SHARE) {
      const back = 1 + random.below(Math.min(ranSoFar, REPEAT_WINDOW));
      part = this.recentParts[(ranSoFar - back) % REPEAT_WINDOW] as GeneratedPart;
      isNewPart = false;
    } else {
      const customer = this.chooseCustomer(random);
      part = generatePart(entityRandom(seed, STREAM_PART, jobId), jobId, customer, scenario);
      isNewPart = true;
    }
    this.recentParts[ranSoFar % REPEAT_WINDOW] = part;
    const customer = part.customer;
    const quantity = Math.max(
      1,
      Math.min(5000, Math.round(lognormal(random, QUANTITY_MEDIAN[customer.sizeSegment], 1))),
    );

    // Quote (and an alternative quantity the customer did not take), order.
    const quotedAt = releasedAt - (5 + 20 * random.next()) * DAY;
    const orderedAt = quotedAt + (1 + 3 * random.next()) * DAY;
    const cutter = chooseCutter(part, random.next());
    const price = prices.get(part.material.materialId) ?? part.material.pricePerKg;
    if (isNewPart) {
      tables.parts.add(
        part.partId,
        customer.customerId,
        part.material.materialId,
        fixed(part.thicknessMm, 2),
        fixed(part.areaM2, 5),
        fixed(part.cutLengthMm, 1),
        part.pierceCount,
        part.holeCount,
        part.bendCount,
        fixed(part.weldLengthMm, 1),
        part.painted,
        part.tolerance,
        timestamp(quotedAt - DAY),
      );
    }
    const marginNoise = 0.02 * gaussian(random);
    const wonQuote = quote(part, quantity, cutter, price, customer.sizeSegment, marginNoise);
    tables.quotes.add(
      2 * jobId - 1,
      customer.customerId,
      part.partId,
      quantity,
      timestamp(quotedAt),
      ...quoteColumns(wonQuote, price),
      true,
    );
    if (random.next() < 0.4) {
      const alternative = Math.max(1, Math.round(quantity * pick(random, [0.5, 2, 5])));
      if (alternative !== quantity) {
        const lost = quote(part, alternative, cutter, price, customer.sizeSegment, marginNoise);
        tables.quotes.add(
          2 * jobId,
          customer.customerId,
          part.partId,
          alternative,
          timestamp(quotedAt),
          ...quoteColumns(lost, price),
          false,
        );
      }
    }
    tables.orders.add(
      jobId,
      2 * jobId - 1,
      customer.customerId,
      timestamp(orderedAt),
      date(releasedAt + (5 + random.below(16)) * DAY),
      quantity,
    );

    // The floor: nesting, rejects, the route with actual times, energy.
    if (scenario === 'machine-wear' && cutter.machineId === WORN_MACHINE)
      conditions.speedFactor = WORN_SPEED_FACTOR;
    const rejected = rejectedParts(random, quantity, rejectRate(part, conditions));
    const made = quantity + rejected;
    const efficiency = clamp(nestingEfficiency(part, made) + 0.02 * gaussian(random), 0.3, 0.95);
    const consumedAreaM2 = (made * part.areaM2) / efficiency;
    const sheetCount = Math.max(1, Math.ceil(consumedAreaM2 / FAMILIES[part.family].sheetAreaM2));
    const steps = planRoute(part, made, cutter, conditions);
    let clock = releasedAt + (0.2 + 4 * random.next()) * HOUR;
    const startedAt = clock;
    let kwh = 0;
    let peakKw = 0;
    steps.forEach((step, index) => {
      const setupSeconds = step.setup * Math.exp(0.15 * gaussian(random));
      const runSeconds =
        made * step.perPart * Math.exp(0.045 * gaussian(random)) +
        sheetCount * step.perSheet * Math.exp(0.1 * gaussian(random));
      tables.route_steps.add(
        jobId,
        index + 1,
        step.operation,
        step.machine.machineId,
        fixed(setupSeconds, 1),
        fixed(runSeconds, 1),
        timestamp(clock),
      );
      kwh += stepEnergyKwh({ machine: step.machine, runSeconds, setupSeconds }, part.thicknessMm);
      peakKw = Math.max(peakKw, step.machine.ratedInputKw * loadFactor(step.machine.kind, part.thicknessMm));
      clock += (setupSeconds + runSeconds) * 1000 + random.next() * 2 * HOUR;
    });
    tables.jobs.add(
      jobId,
      jobId,
      part.partId,
      shiftId,
      quantity,
      sheetCount,
      timestamp(releasedAt),
      timestamp(startedAt),
      timestamp(clock),
    );
    tables.job_energy.add(jobId, fixed(kwh * Math.exp(0.03 * gaussian(random)), 3), fixed(peakKw, 2));
    const materialKg = sheetMassKg(part, consumedAreaM2);
    const scrapKg = materialKg - sheetMassKg(part, quantity * part.areaM2);
    tables.job_scrap.add(
      jobId,
      fixed(materialKg, 3),
      fixed(scrapKg, 3),
      rejected,
      fixed(scrapKg / materialKg, 5),
    );
  }
}

/** Rejected parts: binomial for small lots, its normal approximation for large ones. */
function rejectedParts(random: Random, quantity: number, rate: number): number {
  if (quantity <= 200) {
    let rejected = 0;
    for (let i = 0; i < quantity; i++) if (random.next() < rate) rejected++;
    return rejected;
  }
  const mean = quantity * rate;
  return Math.max(0, Math.round(mean + Math.sqrt(mean * (1 - rate)) * gaussian(random)));
}

function quoteColumns(figures: QuoteFigures, pricePerKg: number): string[] {
  return [
    fixed(pricePerKg, 2),
    fixed(figures.materialCost, 2),
    fixed(figures.machineCost, 2),
    fixed(figures.setupCost, 2),
    fixed(figures.margin, 4),
    fixed(figures.unitPrice, 2),
    fixed(figures.totalPrice, 2),
  ];
}

/** Catalogue rows as they go into the tables (materials with the prices in force). */
export function catalogueRows(prices: ReadonlyMap<string, number>, includeTitanium: boolean) {
  return {
    materials: MATERIALS.filter((material) => includeTitanium || material.family !== 'titanium').map(
      (material) => ({
        ...material,
        pricePerKg: prices.get(material.materialId) ?? material.pricePerKg,
      }),
    ),
    machines: MACHINES,
    customers: shopCustomers(),
    segments: SIZE_SEGMENTS,
  };
}
