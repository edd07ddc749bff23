/** `kerf shop generate` and `kerf shop orders`: the shop's history and order intake, generated, into PostgreSQL. */
import type { Command } from 'commander';
import { loadConfig } from '../../platform/config';
import { createPool } from '../../platform/database';
import { applyMigrations } from '../../platform/migrations';
import { defaultPaths, migrationsDir } from '../../platform/paths';
import {
  ORDER_SCENARIO_EFFECTS,
  ORDER_SCENARIOS,
  type OrderScenario,
  SCENARIO_EFFECTS,
  SCENARIOS,
  type Scenario,
} from '../../shop/scenarios';
import { generateShop, ShopGenerateError } from '../../shop/load';
import { checkOrderIntakeOptions, DEFAULT_ORDERS_FROM, loadOrderIntake } from '../../shop/loadOrders';

/** A whole number from the command line, or an error naming the option. */
function wholeNumber(option: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim()))
      throw new ShopGenerateError(`${option} must be a whole number (got ${JSON.stringify(value)}).`);
    return Number(value);
  };
}

export function registerShopCommands(program: Command): void {
  const shop = program.command('shop').description("the sheet-metal shop's data in PostgreSQL");
  shop
    .command('generate')
    .description(
      'fill the shop tables with a realistic, seeded history of quotes, orders, jobs, times, energy and scrap',
    )
    .requiredOption('--jobs <n>', 'number of jobs to generate', wholeNumber('--jobs'))
    .option('--seed <n>', 'seed: the same seed gives the same rows', wholeNumber('--seed'), 1)
    .option(
      '--scenario <name>',
      `drift to lay on these jobs: ${SCENARIOS.map((name) => `${name} (${SCENARIO_EFFECTS[name]})`).join('; ')}`,
      'none',
    )
    .option('--append', 'add the jobs after the existing ones instead of replacing the shop data')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nA new shop replaces the jobs, parts, quotes and orders; the customers and the order intake\n' +
        '(shop.order_intake, filled by `kerf shop orders`) stay as they are.\n' +
        '\nExamples:\n  kerf shop generate --jobs 100000 --seed 1\n' +
        '  kerf shop generate --jobs 5000 --seed 2 --append --scenario new-material',
    )
    .action(
      async (options: { jobs: number; seed: number; scenario: string; append?: boolean; json?: boolean }) => {
        const config = loadConfig(process.env, defaultPaths);
        // Loading shop data truncates and restarts sequences: the owner role's work.
        const pool = createPool(
          { url: config.postgres.ownerUrl },
          { max: 2, applicationName: 'kerf shop generate' },
        );
        try {
          await applyMigrations(pool, migrationsDir);
          const result = await generateShop(pool, {
            jobs: options.jobs,
            seed: options.seed,
            scenario: options.scenario as Scenario,
            append: options.append ?? false,
            onProgress: options.json
              ? undefined
              : (progress) => {
                  if (progress.jobsDone < progress.jobs) {
                    console.log(
                      `  ${progress.jobsDone} / ${progress.jobs} jobs, ${progress.rows} rows, ${progress.seconds.toFixed(1)} s`,
                    );
                  }
                },
          });
          if (options.json) {
            console.log(JSON.stringify(result, null, 2));
            return;
          }
          console.log(
            `Generated jobs ${result.firstJobId}-${result.lastJobId} (seed ${result.seed}, scenario ${result.scenario}): ` +
              `${result.totalRows} rows in ${result.seconds.toFixed(1)} s (${Math.round(result.rowsPerSecond)} rows/s).`,
          );
          for (const [table, rows] of Object.entries(result.rows))
            console.log(`  shop.${table.padEnd(12)} ${rows}`);
        } finally {
          await pool.end();
        }
      },
    );

  shop
    .command('orders')
    .description(
      'fill shop.order_intake with seeded order history (trend, seasons, weekdays, closed days, project bursts) for order forecasting',
    )
    .requiredOption(
      '--weeks <n>',
      'weeks of order intake to generate (156 is three years)',
      wholeNumber('--weeks'),
    )
    .option(
      '--seed <n>',
      'seed: the same seed gives the same rows, however the weeks are split',
      wholeNumber('--seed'),
      1,
    )
    .option(
      '--from <date>',
      `first day of a new history, YYYY-MM-DD (default ${DEFAULT_ORDERS_FROM}); not with --append`,
    )
    .option('--append', 'continue from the day after the last order instead of replacing the order intake')
    .option(
      '--scenario <name>',
      `demand change from the first day of this run: ${ORDER_SCENARIOS.map((name) => `${name} (${ORDER_SCENARIO_EFFECTS[name]})`).join('; ')}`,
      'none',
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  kerf shop orders --weeks 156 --seed 1\n' +
        '  kerf shop orders --weeks 26 --seed 1 --append --scenario customer-leaves',
    )
    .action(
      async (options: {
        weeks: number;
        seed: number;
        from?: string;
        append?: boolean;
        scenario: string;
        json?: boolean;
      }) => {
        const request = {
          weeks: options.weeks,
          seed: options.seed,
          from: options.from,
          append: options.append ?? false,
          scenario: options.scenario as OrderScenario,
        };
        // A wrong option is named before anything connects.
        checkOrderIntakeOptions(request);
        const config = loadConfig(process.env, defaultPaths);
        // Loading shop data truncates: the owner role's work, as for `kerf shop generate`.
        const pool = createPool(
          { url: config.postgres.ownerUrl },
          { max: 2, applicationName: 'kerf shop orders' },
        );
        try {
          await applyMigrations(pool, migrationsDir);
          const result = await loadOrderIntake(pool, request);
          if (options.json) {
            console.log(JSON.stringify(result, null, 2));
            return;
          }
          console.log(
            `Generated ${result.rows} order lines for ${result.firstDay} to ${result.lastDay} ` +
              `(seed ${result.seed}, scenario ${result.scenario}) into shop.order_intake in ${result.seconds.toFixed(1)} s.`,
          );
        } finally {
          await pool.end();
        }
      },
    );
}
