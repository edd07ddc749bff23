/**
 * `kerf spec check`: validates pipeline spec files (personal data among the features included), and
 * with a flag checks them against the database, with a sample of the source's rows.
 */
import type { Command } from 'commander';
import type pg from 'pg';
import { loadConfig } from '../../platform/config';
import { createReaderPool } from '../../platform/database';
import { defaultPaths } from '../../platform/paths';
import {
  checkSpecSource,
  loadPipelineSpec,
  PipelineSpecError,
  SourceConnectionError,
} from '../../lifecycle/spec';
import { personalDataByName, personalDataInSource } from '../../lifecycle/gates/personalSource';
import { SnapshotError } from '../../lifecycle/ingest';

/** The verdict on one spec file. */
export interface SpecCheckResult {
  file: string;
  ok: boolean;
  /** The spec's `name`, once it parsed. */
  name?: string;
  /** One `path: message` line per problem. */
  problems: string[];
}

/**
 * Checks one spec file: statically, then (when a pool is given and it parsed) against its source;
 * features that look like personal data, by name or by the sampled values, are problems.
 * Bad specs and unreadable files become problems; anything else (a broken connection) is thrown.
 */
export async function checkSpecFile(
  file: string,
  pool?: pg.Pool,
  options: { statementTimeoutMs?: number } = {},
): Promise<SpecCheckResult> {
  let name: string | undefined;
  try {
    const spec = await loadPipelineSpec(file);
    name = spec.name;
    // Personal data: by the features' names always, by a sample of their values against the database.
    const personal = pool
      ? await personalDataInSource(
          pool,
          spec,
          await checkSpecSource(pool, spec, { origin: file, ...options }),
        )
      : personalDataByName(spec);
    if (personal.length > 0) {
      const problems = personal.map((problem) => {
        const index = spec.features.findIndex((feature) => feature.name === problem.column);
        return `features[${index}].name: ${problem.message}`;
      });
      return { file, ok: false, name, problems };
    }
    return { file, ok: true, name, problems: [] };
  } catch (error) {
    if (error instanceof PipelineSpecError) return { file, ok: false, name, problems: error.problems };
    if (error instanceof SnapshotError || error instanceof SourceConnectionError)
      return { file, ok: false, name, problems: [`source: ${error.message}`] };
    if (error instanceof Error && 'code' in error && 'syscall' in error) {
      const code = (error as NodeJS.ErrnoException).code ?? error.message;
      return { file, ok: false, name, problems: [`(file): cannot be read (${code}); check the path`] };
    }
    throw error;
  }
}

/** Adds `kerf spec check <files...> [--against-database] [--json]`. */
export function registerSpecCommands(program: Command): void {
  const spec = program.command('spec').description('pipeline specs (pipelines/*.json)');
  spec
    .command('check')
    .description('validate pipeline spec files; exit 1 when any has a problem')
    .argument('<files...>', 'pipeline spec JSON files')
    .option(
      '--against-database',
      'also check that the columns each spec names exist in its source (DATABASE_URL) with fitting types',
    )
    .option('--json', 'print the results as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  kerf spec check pipelines/*.json\n  kerf spec check pipelines/steel-energy.json --against-database',
    )
    .action(async (files: string[], options: { againstDatabase?: boolean; json?: boolean }) => {
      const config = options.againstDatabase ? loadConfig(process.env, defaultPaths) : undefined;
      // Spec SQL runs as the reader role: it can read the data schemas and nothing else.
      const pool = config
        ? createReaderPool(config.postgres, config.specSql, { max: 1, applicationName: 'kerf spec check' })
        : undefined;
      const results: SpecCheckResult[] = [];
      try {
        for (const file of files) {
          results.push(
            await checkSpecFile(
              file,
              pool,
              config && { statementTimeoutMs: Math.min(config.specSql.statementTimeoutMs, 15_000) },
            ),
          );
        }
      } finally {
        await pool?.end();
      }
      if (options.json) {
        console.log(JSON.stringify(results, null, 2));
      } else {
        for (const result of results) {
          const named = result.name ? ` (${result.name})` : '';
          console.log(`${result.ok ? 'ok ' : 'FAIL'} ${result.file}${named}`);
          for (const problem of result.problems) console.log(`  ${problem}`);
        }
      }
      if (results.some((result) => !result.ok)) process.exitCode = 1;
    });
}
