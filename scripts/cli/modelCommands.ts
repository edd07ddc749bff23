/** `kerf models`, `versions`, `card`, `predict`, `schedule list|trigger`: what is registered and served. */
import { writeFile } from 'node:fs/promises';
import { ScheduleNotFoundError } from '@temporalio/client';
import type { Command } from 'commander';
import { artifactKeys } from '../../registry/artifactKeys';
import { collectedMessage, versionCollection } from '../../registry/collected';
import { apiToken } from '../../serving/apiToken';
import { loadConfig, type KerfConfig } from '../../platform/config';
import { createPool } from '../../platform/database';
import { ObjectStore } from '../../platform/objectStore';
import { defaultPaths } from '../../platform/paths';
import { nightlyScheduleId } from '../../workflows/client/schedules';
import { getAlias, listAliases, listModels, listVersions, RegistryError } from '../../registry';
import { isShownMetric } from '../../ml/metrics';
import { LifecycleCommandError, withClient } from './lifecycleCommands';

async function withRegistry<T>(
  work: (pool: ReturnType<typeof createPool>, config: KerfConfig) => Promise<T>,
): Promise<T> {
  const config = loadConfig(process.env, defaultPaths);
  const pool = createPool(config.postgres, { max: 2, applicationName: 'kerf cli' });
  try {
    return await work(pool, config);
  } catch (error) {
    if (error instanceof RegistryError) throw new LifecycleCommandError(error.message);
    const code = (error as { code?: string }).code;
    if (code === 'ECONNREFUSED') {
      throw new LifecycleCommandError(
        `cannot reach PostgreSQL at ${config.postgres.url.replace(/:[^:@/]*@/, ':***@')}; start the stack with \`kerf stack up\` or check DATABASE_URL.`,
      );
    }
    if (code === '3F000' || code === '42P01') {
      throw new LifecycleCommandError(
        'the registry tables are missing; run `kerf stack up` or `kerf worker` once to apply the migrations.',
      );
    }
    throw error;
  } finally {
    await pool.end();
  }
}

export function registerModelCommands(program: Command): void {
  program
    .command('models')
    .description('list the models with their latest and production versions')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExample:\n  kerf models')
    .action(async (options: { json?: boolean }) => {
      await withRegistry(async (pool) => {
        const models = await listModels(pool);
        if (options.json) {
          console.log(JSON.stringify(models, null, 2));
          return;
        }
        if (models.length === 0)
          console.log('No models yet: `kerf run pipelines/cut-time.json` makes the first.');
        for (const model of models) {
          console.log(
            `${model.name.padEnd(24)} ${model.task.padEnd(10)} latest v${model.latestVersion ?? '-'}  production v${model.productionVersion ?? '-'}`,
          );
        }
      });
    });

  program
    .command('versions')
    .description("list a model's versions: status, metrics, and where the aliases point")
    .argument('<model>', 'the model (pipeline name)')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExample:\n  kerf versions cut-time')
    .action(async (model: string, options: { json?: boolean }) => {
      await withRegistry(async (pool) => {
        const [versions, aliases] = await Promise.all([listVersions(pool, model), listAliases(pool, model)]);
        if (options.json) {
          console.log(JSON.stringify({ versions, aliases }, null, 2));
          return;
        }
        if (versions.length === 0)
          throw new LifecycleCommandError(`no versions of ${model}; check the name with \`kerf models\`.`);
        for (const version of versions) {
          const pointing = aliases
            .filter((alias) => alias.version === version.version)
            .map((alias) => alias.alias);
          const metrics = Object.entries(version.metrics ?? {})
            .filter(([name, value]) => typeof value === 'number' && isShownMetric(name))
            .map(([name, value]) => `${name} ${Number((value as number).toPrecision(4))}`)
            .join(', ');
          console.log(
            `v${version.version}  ${version.status.padEnd(9)} ${pointing.length ? `[${pointing.join(', ')}] ` : ''}${metrics}  (${version.createdAt.toISOString()})`,
          );
        }
      });
    });

  program
    .command('card')
    .description("write a version's model card (HTML) to a file, or print where it is")
    .argument('<model>', 'the model (pipeline name)')
    .argument('[version]', 'the version number (default: production, else the latest)')
    .option('--out <file>', 'write the card to this file to open in a browser')
    .addHelpText('after', '\nExamples:\n  kerf card cut-time --out cut-time.html\n  kerf card cut-time 2')
    .action(async (model: string, versionText: string | undefined, options: { out?: string }) => {
      await withRegistry(async (pool, config) => {
        let version = versionText === undefined ? undefined : Number(versionText);
        if (version !== undefined && !Number.isInteger(version))
          throw new LifecycleCommandError(`version must be a number, not ${versionText}`);
        version ??=
          (await getAlias(pool, model, 'production'))?.version ??
          (await listVersions(pool, model)).at(-1)?.version;
        if (version === undefined)
          throw new LifecycleCommandError(`no versions of ${model}; check the name with \`kerf models\`.`);
        const collected = await versionCollection(pool, model, version);
        if (collected) {
          throw new LifecycleCommandError(
            `${collectedMessage(collected)}: its card went with them; \`kerf versions ${model}\` still lists its metrics`,
          );
        }
        const key = artifactKeys(model, version).card;
        if (!options.out) {
          console.log(`s3://${config.s3.bucket}/${key}`);
          console.log(
            `served at http://127.0.0.1:${config.api.port}/v1/models/${model}/versions/${version}/card (bearer token)`,
          );
          return;
        }
        const store = ObjectStore.fromConfig(config.s3);
        try {
          await writeFile(options.out, await store.get(key));
        } finally {
          store.destroy();
        }
        console.log(`wrote ${model} v${version}'s card to ${options.out}`);
      });
    });

  program
    .command('predict')
    .description('ask the prediction API for one row or a batch (JSON from --json or stdin)')
    .argument('<model>', 'the model (pipeline name)')
    .option('--json <payload>', 'a row {"column": value, ...}, or {"rows": [...]}; else read from stdin')
    .addHelpText(
      'after',
      '\nExample:\n  kerf predict cut-time --json \'{"thickness_mm": 3, "sheet_area_m2": 0.12, "cut_length_mm": 1800, "pierce_count": 6, "hole_count": 4, "laser_power_kw": 6, "quantity": 40, "material_family": "mild_steel", "material_id": "S235JR", "machine_id": "LAS-1", "shift": "early"}\'',
    )
    .action(async (model: string, options: { json?: string }) => {
      const config = loadConfig(process.env, defaultPaths);
      let text = options.json;
      if (text === undefined) {
        const chunks: Buffer[] = [];
        for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
        text = Buffer.concat(chunks).toString('utf8');
      }
      let payload: unknown;
      try {
        payload = JSON.parse(text);
      } catch (error) {
        throw new LifecycleCommandError(
          `the payload is not JSON (${(error as Error).message}); give a row object or {"rows": [...]}.`,
        );
      }
      const body =
        typeof payload === 'object' && payload !== null && ('rows' in payload || 'row' in payload)
          ? payload
          : { row: payload };
      const { token } = await apiToken(config);
      const url = `http://127.0.0.1:${config.api.port}/v1/models/${encodeURIComponent(model)}/predict`;
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      } catch {
        throw new LifecycleCommandError(
          `the prediction API does not answer at ${url}; start it with \`npm start\`.`,
        );
      }
      const answer = await response.text();
      if (!response.ok) throw new LifecycleCommandError(`the API answered ${response.status}: ${answer}`);
      console.log(JSON.stringify(JSON.parse(answer), null, 2));
    });

  program
    .command('forecast')
    .description("a forecast model's next periods per series, with their prediction intervals, as a table")
    .argument('<model>', 'the model (pipeline name)')
    .option(
      '--series <column=value,...>',
      'one series by its key columns (repeat for more); every series the version knows when left out',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--horizon <n>', 'periods ahead (at most the horizon the version was trained for)')
    .option('--json', 'print the API answer as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  kerf forecast order-forecast --series material_family=mild_steel,customer_segment=large\n' +
        '  kerf forecast order-forecast --horizon 4',
    )
    .action(async (model: string, options: { series?: string[]; horizon?: string; json?: boolean }) => {
      const config = loadConfig(process.env, defaultPaths);
      const { token } = await apiToken(config);
      const base = `http://127.0.0.1:${config.api.port}/v1/models/${encodeURIComponent(model)}`;
      const series = (options.series ?? []).map(parseSeriesOption);
      const horizon = options.horizon === undefined ? undefined : Number(options.horizon);
      if (horizon !== undefined && !Number.isInteger(horizon)) {
        throw new LifecycleCommandError(
          `--horizon must be a whole number of periods (got ${options.horizon ?? ''}).`,
        );
      }
      const call = async (path: string, body?: unknown): Promise<unknown> => {
        let response: Response;
        try {
          response = await fetch(`${base}${path}`, {
            method: body === undefined ? 'GET' : 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          });
        } catch {
          throw new LifecycleCommandError(
            `the prediction API does not answer at ${base}; start it with \`npm start\`.`,
          );
        }
        const text = await response.text();
        if (!response.ok) throw new LifecycleCommandError(`the API answered ${response.status}: ${text}`);
        return JSON.parse(text) as unknown;
      };
      if (series.length === 0) {
        // Every series the version knows: the API lists them with the model.
        const described = (await call('')) as { forecastSeries?: Record<string, string>[] | null };
        if (!described.forecastSeries) {
          throw new LifecycleCommandError(`${model} is not a forecast model: use \`kerf predict ${model}\`.`);
        }
        series.push(...described.forecastSeries);
      }
      const answer = (await call('/forecast', {
        series,
        ...(horizon === undefined ? {} : { horizon }),
      })) as ForecastAnswer;
      if (options.json) {
        console.log(JSON.stringify(answer, null, 2));
        return;
      }
      console.log(forecastTable(answer));
    });

  const schedule = program
    .command('schedule')
    .description("the models' nightly checks and scheduled batch scorings (Temporal Schedules)");
  schedule
    .command('list')
    .description('list the nightly checks and scheduled batch scorings with their next run')
    .action(async () => {
      await withClient(async (client) => {
        let any = false;
        for await (const entry of client.schedule.list()) {
          if (!entry.scheduleId.startsWith('nightly-') && !entry.scheduleId.startsWith('scoring-')) continue;
          any = true;
          const next = entry.info.nextActionTimes[0]?.toISOString() ?? 'none';
          console.log(`${entry.scheduleId.padEnd(32)} next ${next}${entry.state.paused ? ' (paused)' : ''}`);
        }
        if (!any) console.log("No nightly schedules yet: a deploy creates its model's.");
      });
    });
  schedule
    .command('trigger')
    .description("run a model's nightly check now")
    .argument('<model>', 'the model (pipeline name)')
    .addHelpText('after', '\nExample:\n  kerf schedule trigger cut-time')
    .action(async (model: string) => {
      await withClient(async (client) => {
        try {
          await client.schedule.getHandle(nightlyScheduleId(model)).trigger();
        } catch (error) {
          if (error instanceof ScheduleNotFoundError) {
            throw new LifecycleCommandError(
              `${model} has no nightly schedule: it is created when a version is deployed.`,
            );
          }
          throw error;
        }
        console.log(
          `started ${model}'s nightly check; its report appears in monitoring.reports and s3 monitoring/${model}/`,
        );
      });
    });
}

/** The API's forecast answer, as the table needs it. */
interface ForecastAnswer {
  model: string;
  version: number;
  period: string;
  origin: string;
  intervalLevel: number;
  forecasts: { id: string; points: { period: string; value: number; lower: number; upper: number }[] }[];
}

/** `material_family=mild_steel,customer_segment=large` as an object, or an error naming the option. */
function parseSeriesOption(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const part of text.split(',')) {
    const at = part.indexOf('=');
    if (at <= 0) {
      throw new LifecycleCommandError(
        `--series takes column=value pairs joined by commas, such as material_family=mild_steel,customer_segment=large (got ${JSON.stringify(text)}).`,
      );
    }
    values[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return values;
}

/** One row per period and series: the forecast with its interval, rounded for people. */
export function forecastTable(answer: ForecastAnswer): string {
  const level = Math.round(answer.intervalLevel * 100);
  const lines = [
    `${answer.model} v${answer.version}: the next ${answer.forecasts[0]?.points.length ?? 0} ${answer.period}s after ${answer.origin}, with ${level} % intervals`,
  ];
  const seriesWidth = Math.max(6, ...answer.forecasts.map((forecast) => forecast.id.length));
  lines.push(
    `${'series'.padEnd(seriesWidth)}  ${'period'.padEnd(10)}  ${'forecast'.padStart(9)}  ${'interval'.padStart(17)}`,
  );
  const shown = (value: number) => (Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(1));
  for (const forecast of answer.forecasts) {
    for (const point of forecast.points) {
      lines.push(
        `${forecast.id.padEnd(seriesWidth)}  ${point.period.padEnd(10)}  ${shown(point.value).padStart(9)}  ${`${shown(point.lower)} - ${shown(point.upper)}`.padStart(17)}`,
      );
    }
  }
  return lines.join('\n');
}
