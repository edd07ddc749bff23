import { describe, expect, it } from 'vitest';
import { daysFromCivil } from '../../../lifecycle/features/expression/calendar';
import { isWorkingDay, weekdayOf } from '../../../lifecycle/forecast/calendar';
import { FAMILIES, SIZE_SEGMENTS } from '../../../shop/catalogue';
import { shopCustomers } from '../../../shop/customers';
import {
  generateOrderIntake,
  keyAccount,
  type OrderLine,
  type OrderIntakeOptions,
  ORDER_FAMILIES,
  ORDER_INTAKE_COLUMNS,
  orderIntakeCopyText,
} from '../../../shop/orderIntake';
import { ORDER_SCENARIOS, STEEL_DEMAND_FACTOR } from '../../../shop/scenarios';

const START = daysFromCivil(2024, 1, 1);
const THREE_YEARS = 156 * 7;

function generate(options: Partial<OrderIntakeOptions> = {}): OrderLine[] {
  return generateOrderIntake({
    seed: 1,
    firstDay: START,
    days: THREE_YEARS,
    firstOrderLineId: 1,
    ...options,
  });
}

// One three-year history shared by the tests that only read it.
const history = generate();

/** Lines per Monday-based week (index from START, a Monday). */
function weeklyTotals(lines: readonly OrderLine[]): number[] {
  const weeks = new Array<number>(156).fill(0);
  for (const line of lines) {
    const week = Math.floor((line.orderedOn - START) / 7);
    weeks[week] = (weeks[week] ?? 0) + 1;
  }
  return weeks;
}

/** Lines per working day of the days matching `within`. */
function linesPerWorkingDay(lines: readonly OrderLine[], within: (day: number) => boolean): number {
  let days = 0;
  for (let day = START; day < START + THREE_YEARS; day++) if (isWorkingDay(day) && within(day)) days++;
  return lines.filter((line) => within(line.orderedOn)).length / days;
}

const monthOf = (day: number) => new Date(day * 86_400_000).getUTCMonth() + 1;
const yearOf = (day: number) => new Date(day * 86_400_000).getUTCFullYear();

describe('generateOrderIntake', () => {
  it('gives the same rows for the same seed and other rows for another seed', () => {
    const again = generate();
    expect(again).toEqual(history);
    const other = generate({ seed: 2, days: 28 });
    expect(other.slice(0, 50)).not.toEqual(history.slice(0, 50));
  });

  it('gives the same rows however the days are split into runs, ids and trend continuing', () => {
    const firstDays = 400;
    const first = generate({ days: firstDays });
    const last = first.at(-1);
    if (!last) throw new Error('no lines');
    // As the loader appends: from the day after the last order, after the last id.
    const rest = generate({
      firstDay: last.orderedOn + 1,
      days: START + THREE_YEARS - last.orderedOn - 1,
      firstOrderLineId: last.orderLineId + 1,
    });
    expect([...first, ...rest]).toEqual(history);
  });

  it('books nothing on a day the shop is closed (weekends, public holidays, shutdowns)', () => {
    expect(history.every((line) => isWorkingDay(line.orderedOn))).toBe(true);
    const days = new Set(history.map((line) => line.orderedOn));
    expect(days.has(daysFromCivil(2024, 12, 27))).toBe(false); // Christmas shutdown, a Friday
    expect(days.has(daysFromCivil(2025, 4, 21))).toBe(false); // Easter Monday
    expect(days.has(daysFromCivil(2025, 4, 22))).toBe(true);
  });

  it('writes valid lines: ids in sequence, families and segments the table takes, positive figures', () => {
    const customers = new Map(shopCustomers().map((customer) => [customer.customerId, customer]));
    expect(history.every((line, index) => line.orderLineId === index + 1)).toBe(true);
    for (const line of history.slice(0, 5000)) {
      expect(customers.get(line.customerId)?.sizeSegment).toBe(line.sizeSegment);
      expect(ORDER_FAMILIES).toContain(line.materialFamily);
      expect(Number.isInteger(line.quantity) && line.quantity > 0).toBe(true);
      expect(line.laserHours).toBeGreaterThan(0);
      expect(line.steelKg).toBeGreaterThan(0);
    }
    const text = orderIntakeCopyText(history.slice(0, 2));
    expect(text.split('\n')[0]?.split('\t')).toHaveLength(ORDER_INTAKE_COLUMNS.length);
    expect(text.split('\n')[0]).toMatch(/^1\t\d+\t(small|medium|large)\t[a-z_]+\t2024-01-0\d\t\d+\t/);
  });

  it('grows about 8 % a year', () => {
    const perDay = [2024, 2025, 2026].map((year) =>
      linesPerWorkingDay(history, (day) => yearOf(day) === year),
    );
    const [first = 0, , third = 0] = perDay;
    expect(third / first).toBeGreaterThan(1.1);
    expect(third / first).toBeLessThan(1.25);
  });

  it('has seasons: spring and autumn busier than summer and December, Monday busier than Friday', () => {
    const busy = linesPerWorkingDay(history, (day) => [4, 5, 10].includes(monthOf(day)));
    const slow = linesPerWorkingDay(history, (day) => [7, 12].includes(monthOf(day)));
    expect(busy / slow).toBeGreaterThan(1.3);
    const weeks = weeklyTotals(history);
    // Weekly totals: the shutdown weeks are empty, ordinary weeks are hundreds of lines.
    expect(weeks.filter((total) => total === 0).length).toBeGreaterThanOrEqual(6);
    expect(weeks.filter((total) => total > 400).length).toBeGreaterThan(120);
    const monday = linesPerWorkingDay(history, (day) => weekdayOf(day) === 0);
    const friday = linesPerWorkingDay(history, (day) => weekdayOf(day) === 4);
    expect(monday / friday).toBeGreaterThan(1.6);
  });

  it('gives 12 family x segment series of mostly 20-300 lines a week', () => {
    const series = new Map<string, number[]>();
    for (const line of history) {
      const key = `${line.materialFamily}/${line.sizeSegment}`;
      const weeks = series.get(key) ?? new Array<number>(156).fill(0);
      const week = Math.floor((line.orderedOn - START) / 7);
      weeks[week] = (weeks[week] ?? 0) + 1;
      series.set(key, weeks);
    }
    expect(series.size).toBe(ORDER_FAMILIES.length * SIZE_SEGMENTS.length);
    for (const weeks of series.values()) {
      const open = weeks.filter((total) => total > 0);
      const inRange = open.filter((total) => total >= 20 && total <= 300).length;
      expect(inRange / open.length).toBeGreaterThan(0.8);
    }
  });

  it('makes the key account the biggest customer of large x mild steel, about a third of it', () => {
    const key = keyAccount();
    const series = history.filter(
      (line) => line.sizeSegment === key.sizeSegment && line.materialFamily === key.materialFamily,
    );
    const byCustomer = new Map<number, number>();
    for (const line of series) byCustomer.set(line.customerId, (byCustomer.get(line.customerId) ?? 0) + 1);
    const [biggest] = [...byCustomer].sort((a, b) => b[1] - a[1]);
    expect(biggest?.[0]).toBe(key.customerId);
    const share = (biggest?.[1] ?? 0) / series.length;
    expect(share).toBeGreaterThan(0.28);
    expect(share).toBeLessThan(0.42);
  });

  it('orders large customers in project weeks: some weeks many lines, others none', () => {
    const large = shopCustomers().filter(
      (customer) => customer.sizeSegment === 'large' && customer.customerId !== keyAccount().customerId,
    );
    const weeks = new Map<number, number[]>();
    for (const line of history) {
      if (line.sizeSegment !== 'large') continue;
      const perWeek = weeks.get(line.customerId) ?? new Array<number>(156).fill(0);
      const week = Math.floor((line.orderedOn - START) / 7);
      perWeek[week] = (perWeek[week] ?? 0) + 1;
      weeks.set(line.customerId, perWeek);
    }
    const idleShares = large.map((customer) => {
      const perWeek = weeks.get(customer.customerId) ?? [];
      return perWeek.filter((total) => total === 0).length / 156;
    });
    const meanIdle = idleShares.reduce((sum, share) => sum + share, 0) / idleShares.length;
    expect(meanIdle).toBeGreaterThan(0.5);
  });
});

describe('order-intake scenarios', () => {
  const days = 26 * 7;
  const from = START + 104 * 7;
  const base = generate({ firstDay: from, days });

  it('lists each scenario with its effect', () => {
    expect(ORDER_SCENARIOS).toEqual(['none', 'customer-leaves', 'demand-surge', 'price-shock']);
  });

  it('customer-leaves: the key account orders nothing more, the others as before', () => {
    const left = generate({ firstDay: from, days, scenario: 'customer-leaves' });
    const key = keyAccount().customerId;
    expect(base.some((line) => line.customerId === key)).toBe(true);
    expect(left.some((line) => line.customerId === key)).toBe(false);
    const strip = (lines: OrderLine[]) =>
      lines.filter((line) => line.customerId !== key).map((line) => ({ ...line, orderLineId: 0 }));
    expect(strip(left)).toEqual(strip(base));
  });

  it('demand-surge: about 40 % more lines', () => {
    const surge = generate({ firstDay: from, days, scenario: 'demand-surge' });
    expect(surge.length / base.length).toBeGreaterThan(1.3);
    expect(surge.length / base.length).toBeLessThan(1.5);
  });

  it('price-shock: steel families lose about 15 % of their lines, aluminium keeps its own', () => {
    const shock = generate({ firstDay: from, days, scenario: 'price-shock' });
    const steel = (lines: OrderLine[]) => lines.filter((line) => FAMILIES[line.materialFamily].steel).length;
    const aluminium = (lines: OrderLine[]) =>
      lines.filter((line) => line.materialFamily === 'aluminium').length;
    expect(steel(shock) / steel(base)).toBeCloseTo(STEEL_DEMAND_FACTOR, 1);
    expect(steel(shock)).toBeLessThan(steel(base));
    expect(aluminium(shock)).toBe(aluminium(base));
  });
});
