/** `kerf teach`: tell serving how to treat a category the production model has not seen yet. */
import type { Command } from 'commander';
import { activeMappings, teachCategory } from '../../monitoring/categoryMappings';
import { loadConfig } from '../../platform/config';
import { createPool } from '../../platform/database';
import { ObjectStore } from '../../platform/objectStore';
import { defaultPaths } from '../../platform/paths';
import type { ReferenceProfile } from '../../monitoring/reference';
import { getAlias } from '../../registry';
import { artifactKeys } from '../../registry/artifactKeys';
import { AccessError, actionProblem, authenticateKey, loginSettings, presentedKey } from '../../access';
import { LifecycleCommandError } from './lifecycleCommands';
import { AS_REMOVED } from './login';
import os from 'node:os';

export function registerTeachCommands(program: Command): void {
  program
    .command('teach')
    .description(
      'treat a category the production model has not seen like a known one, until a retrained version knows it',
    )
    .argument('<model>', 'the model (pipeline name), e.g. cut-time')
    .argument('<column>', 'a categorical feature, e.g. material_family')
    .argument('<value>', 'the new category, e.g. titanium')
    .requiredOption('--like <known>', 'the known category to treat it like, e.g. stainless_steel')
    .option('--as <name>', 'removed: you teach as the logged-in person (an operator of the model)')
    .addHelpText(
      'after',
      '\nYou teach as the logged-in person (kerf login, or KERF_KEY), an operator of the model.\n' +
        'Example:\n  kerf teach cut-time material_family titanium --like stainless_steel',
    )
    .action(async (model: string, column: string, value: string, options: { like: string; as?: string }) => {
      if (options.as !== undefined) throw new LifecycleCommandError(AS_REMOVED);
      const config = loadConfig(process.env, defaultPaths);
      const pool = createPool(config.postgres, { max: 2, applicationName: 'kerf teach' });
      const store = ObjectStore.fromConfig(config.s3);
      try {
        const identity = await authenticateKey(
          pool,
          await presentedKey(loginSettings(process.env, os.homedir())),
        );
        const problem = actionProblem(identity.user, 'teach', model);
        if (problem) throw new AccessError('forbidden', problem);
        const production = await getAlias(pool, model, 'production');
        if (!production)
          throw new LifecycleCommandError(`${model} has no production version; deploy one first.`);
        const reference = await store.getJson<ReferenceProfile>(
          artifactKeys(model, production.version).reference,
        );
        const mapping = await teachCategory(
          pool,
          { model, column, unseenValue: value, likeValue: options.like, taughtBy: identity.user.name },
          reference,
        );
        console.log(
          `${model}: ${column} "${mapping.unseenValue}" is now served like "${mapping.likeValue}" (taught by ${mapping.taughtBy}); ` +
            'the mapping retires when a version trained on it is deployed.',
        );
        const others = (await activeMappings(pool, model)).filter(
          (other) => other.mappingId !== mapping.mappingId,
        );
        for (const other of others)
          console.log(`  also in force: ${other.column} "${other.unseenValue}" like "${other.likeValue}"`);
      } finally {
        store.destroy();
        await pool.end();
      }
    });
}
