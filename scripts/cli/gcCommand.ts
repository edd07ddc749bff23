/**
 * `kerf gc [--dry-run] [--model NAME]`: retention by hand. Removes the objects of versions rejected,
 * superseded or failed longer than KERF_GC_AFTER_DAYS ago (never those of a version a person approved,
 * never one a kept version uses) and, for every model at once, drops the prediction log's months older
 * than KERF_PREDICTION_RETENTION_MONTHS. One line per decision; `--dry-run` only says what would go.
 *
 * Who: anyone logged in may look (`--dry-run`); removing needs an operator of the model, and without
 * `--model` (every model, and the prediction log they share) an operator of every model (`*`). A
 * refusal is audited (`gc-refused`).
 */
import type { Command } from 'commander';
import { AccessError, actionProblem, EVERY_MODEL, type Identity } from '../../access';
import { loadConfig } from '../../platform/config';
import { createPool } from '../../platform/database';
import { ObjectStore } from '../../platform/objectStore';
import { defaultPaths } from '../../platform/paths';
import { appendAudit } from '../../registry/audit';
import { RegistryError } from '../../registry/errors';
import { getModel } from '../../registry/models';
import { type RetentionReport, retentionLines, runRetention } from '../../retention';
import { LifecycleCommandError } from './lifecycleCommands';
import { currentIdentity } from './login';

interface GcOptions {
  dryRun?: boolean;
  model?: string;
  json?: boolean;
}

const MODEL_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** Why `identity` may not collect, or undefined when they may. */
export function gcProblem(identity: Identity, model: string | undefined): string | undefined {
  if (model !== undefined) return actionProblem(identity.user, 'collect', model);
  const problem = actionProblem(identity.user, 'collect', EVERY_MODEL);
  if (problem === undefined) return undefined;
  if (!identity.user.roles.includes('operator') || identity.user.disabledAt) return problem;
  return (
    `user ${identity.user.name} is an operator of ${identity.user.models.join(', ') || 'no model'}, not of every model (*): ` +
    'kerf gc without --model removes objects of every model and drops the prediction log they share; name one of your models with --model'
  );
}

/** The report as JSON: dates as ISO strings. */
function reportJson(report: RetentionReport): string {
  return JSON.stringify(report, null, 2);
}

export function registerGcCommand(program: Command): void {
  program
    .command('gc')
    .description(
      'remove the objects of versions rejected, superseded or failed long ago and drop prediction-log months past retention',
    )
    .option('--dry-run', 'only list what would go: version, key, bytes, why, and the partitions to drop')
    .option('--model <name>', "only this model's versions (the prediction log is left alone)")
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nAges: KERF_GC_AFTER_DAYS (default 30) and KERF_PREDICTION_RETENTION_MONTHS (default 12).\n' +
        'You collect as the logged-in person: an operator of the model, or of every model without --model.\n' +
        'Examples:\n  kerf gc --dry-run\n  kerf gc --model cut-time\n  kerf gc',
    )
    .action(async (options: GcOptions) => {
      const model = options.model;
      if (model !== undefined && (!MODEL_NAME.test(model) || model.length > 63)) {
        throw new LifecycleCommandError(
          `--model must be a model's name (kebab-case, e.g. cut-time), got ${JSON.stringify(model.slice(0, 70))}`,
        );
      }
      const dryRun = options.dryRun ?? false;
      const config = loadConfig(process.env, defaultPaths);
      const pool = createPool(config.postgres, { max: 3, applicationName: 'kerf gc' });
      const objectStore = ObjectStore.fromConfig(config.s3);
      try {
        const identity = await currentIdentity(pool);
        const problem = dryRun ? undefined : gcProblem(identity, model);
        if (problem !== undefined) {
          await appendAudit(pool, {
            actor: identity.user.name,
            action: 'gc-refused',
            details: { reason: problem, authenticatedBy: 'cli-key', ...(model ? { model } : {}) },
          });
          throw new AccessError('forbidden', `refused: ${problem}`);
        }
        if (model !== undefined) {
          await getModel(pool, model).catch((error: unknown) => {
            if (error instanceof RegistryError && error.kind === 'not-found') {
              throw new LifecycleCommandError(
                `no model ${model} in the registry; \`kerf models\` lists them`,
              );
            }
            throw error;
          });
        }
        const report = await runRetention(
          { pool, objectStore },
          {
            retention: config.retention,
            actor: identity.user.name,
            dryRun,
            partitions: model === undefined,
            ...(model === undefined ? {} : { models: [model] }),
          },
        );
        if (options.json) console.log(reportJson(report));
        else for (const line of retentionLines(report)) console.log(line);
      } finally {
        objectStore.destroy();
        await pool.end();
      }
    });
}
