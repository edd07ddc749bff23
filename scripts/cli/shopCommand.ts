/** `kerf shop generate`: the shop's history, generated, into PostgreSQL. */
import type { Command } from 'commander';
import { loadConfig } from '../../platform/config';
import { createPool } from '../../platform/database';
import { applyMigrations } from '../../platform/migrations';
import { defaultPaths, migrationsDir } from '../../platform/paths';
import { SCENARIO_EFFECTS, SCENARIOS, type Scenario } from '../../shop/scenarios';
import { generateShop, ShopGenerateError } from '../../shop/load';

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
}
