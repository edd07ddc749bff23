/** `kerf teach`: tell serving how to treat a category the production model has not seen yet. */
import type { Command } from 'commander';
import { activeMappings, teachCategory } from '../../platform/categoryMappings';
import { loadConfig } from '../../platform/config';
import { createPool } from '../../platform/database';
import { ObjectStore } from '../../platform/objectStore';
import { defaultPaths } from '../../platform/paths';
import type { ReferenceProfile } from '../../monitoring/reference';
import { getAlias } from '../../registry';
import { artifactKeys } from '../../activities/lifecycle/keys';
import { LifecycleCommandError } from './lifecycleCommands';

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
    .requiredOption('--as <name>', 'who teaches it, for the audit log')
    .addHelpText(
      'after',
      '\nExample:\n  kerf teach cut-time material_family titanium --like stainless_steel --as shop-manager',
    )
    .action(async (model: string, column: string, value: string, options: { like: string; as: string }) => {
      const config = loadConfig(process.env, defaultPaths);
      const pool = createPool(config.postgres, { max: 2, applicationName: 'kerf teach' });
      const store = ObjectStore.fromConfig(config.s3);
      try {
        const production = await getAlias(pool, model, 'production');
        if (!production)
          throw new LifecycleCommandError(`${model} has no production version; deploy one first.`);
        const reference = await store.getJson<ReferenceProfile>(
          artifactKeys(model, production.version).reference,
        );
        const mapping = await teachCategory(
          pool,
          { model, column, unseenValue: value, likeValue: options.like, taughtBy: options.as },
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
