/**
 * `kerf shop orders`: fills `shop.order_intake` with generated order history (`shop/orderIntake.ts`)
 * in one transaction, by COPY (`copyText` of `shop/load.ts`). A new history replaces the table's
 * rows; `append` continues from the day after the last `ordered_on` and after the last line id, so
 * a history appended with the same seed is the one a single run would have made, and a scenario
 * laid on an appended run starts on its first day.
 */
import type pg from 'pg';
import { daysFromCivil } from '../lifecycle/features/expression/calendar';
import { checkSeed, copyText, inShopTransaction, ShopGenerateError, writeCustomers } from './load';
import { generateOrderIntake, isoDate, ORDER_INTAKE_COLUMNS, orderIntakeCopyText } from './orderIntake';
import { ORDER_SCENARIOS, type OrderScenario } from './scenarios';

/** Where a new order history starts unless told otherwise. */
export const DEFAULT_ORDERS_FROM = '2024-01-01';

export interface OrderIntakeLoadOptions {
  /** Weeks of order intake (7 days each) from the first day. */
  weeks: number;
  seed: number;
  /** The first day (YYYY-MM-DD) of a new history; not with `append`. @default '2024-01-01' */
  from?: string;
  /** Continue after the table's last day instead of replacing its rows. @default false */
  append?: boolean;
  /** @default 'none' */
  scenario?: OrderScenario;
}

export interface OrderIntakeLoadResult {
  seed: number;
  scenario: OrderScenario;
  /** Order lines written. */
  rows: number;
  /** The period generated, both days included (YYYY-MM-DD). */
  firstDay: string;
  lastDay: string;
  /** Line ids written, or null when the period had none (the shop was closed throughout). */
  firstOrderLineId: number | null;
  lastOrderLineId: number | null;
  seconds: number;
}

/** The first day of `--from`, or an error saying what to give. */
function parseFrom(from: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(from);
  const day = match ? daysFromCivil(Number(match[1]), Number(match[2]), Number(match[3])) : Number.NaN;
  if (!match || isoDate(day) !== from || day < 1) {
    throw new ShopGenerateError(
      `--from must be a date after 1970-01-01 written YYYY-MM-DD, such as ${DEFAULT_ORDERS_FROM} (got ${JSON.stringify(from)}).`,
    );
  }
  return day;
}

/** Checks the options a person gave, naming the one that is wrong. */
export function checkOrderIntakeOptions(options: OrderIntakeLoadOptions): void {
  if (!Number.isSafeInteger(options.weeks) || options.weeks < 1 || options.weeks > 52 * 50) {
    throw new ShopGenerateError(
      `--weeks must be a whole number from 1 to 2600 (got ${String(options.weeks)}); 156 is three years.`,
    );
  }
  checkSeed(options.seed);
  const scenario = options.scenario ?? 'none';
  if (!(ORDER_SCENARIOS as readonly string[]).includes(scenario)) {
    throw new ShopGenerateError(
      `--scenario must be one of ${ORDER_SCENARIOS.join(', ')} (got ${JSON.stringify(scenario)}).`,
    );
  }
  if (options.append && options.from !== undefined) {
    throw new ShopGenerateError(
      '--from cannot go with --append: an appended run starts the day after the last order in shop.order_intake. Drop --from, or drop --append to replace the history.',
    );
  }
  if (options.from !== undefined) parseFrom(options.from);
}

/** Fills (or extends) `shop.order_intake`. The schema must exist: the migrations create it. */
export async function loadOrderIntake(
  pool: pg.Pool,
  options: OrderIntakeLoadOptions,
): Promise<OrderIntakeLoadResult> {
  checkOrderIntakeOptions(options);
  const scenario = options.scenario ?? 'none';
  const started = performance.now();
  const intake = {
    table: 'shop.order_intake',
    missing:
      'shop.order_intake does not exist in this database; apply the migrations first (`kerf stack up` does, or start the worker).',
    what: 'the order intake',
  };
  const analyze = async () => {
    await pool.query('ANALYZE shop.order_intake');
  };
  // The same transaction and lock as `kerf shop generate`: the customers are written by both.
  return inShopTransaction(
    pool,
    intake,
    async (client) => {
      let firstDay: number;
      let firstOrderLineId = 1;
      if (options.append) {
        const last = await client.query<{ last_day: string | null; last_line: string | null }>(
          `SELECT to_char(max(ordered_on), 'YYYY-MM-DD') AS last_day, max(order_line_id)::text AS last_line
         FROM shop.order_intake`,
        );
        const lastDay = last.rows[0]?.last_day;
        if (!lastDay) {
          throw new ShopGenerateError(
            'shop.order_intake is empty, so there is nothing to --append to: run `kerf shop orders --weeks <n>` without --append first.',
          );
        }
        firstDay = parseFrom(lastDay) + 1;
        firstOrderLineId = Number(last.rows[0]?.last_line) + 1;
      } else {
        firstDay = parseFrom(options.from ?? DEFAULT_ORDERS_FROM);
        await client.query('TRUNCATE shop.order_intake');
      }
      const days = options.weeks * 7;
      const lines = generateOrderIntake({ seed: options.seed, firstDay, days, firstOrderLineId, scenario });
      await writeCustomers(client);
      await copyText(client, 'order_intake', ORDER_INTAKE_COLUMNS, orderIntakeCopyText(lines));
      return {
        seed: options.seed,
        scenario,
        rows: lines.length,
        firstDay: isoDate(firstDay),
        lastDay: isoDate(firstDay + days - 1),
        firstOrderLineId: lines[0]?.orderLineId ?? null,
        lastOrderLineId: lines.at(-1)?.orderLineId ?? null,
        seconds: (performance.now() - started) / 1000,
      };
    },
    analyze,
  );
}
