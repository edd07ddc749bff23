/** The `kerf` command line. */
import { Argument, Command, Option } from 'commander';
import { ConfigError, loadConfig, type KerfConfig } from '../../platform/config';
import { CsvImportError, importCsv } from '../../shop/csvImport';
import { PipelineSpecError } from '../../lifecycle/spec';
import { createPool } from '../../platform/database';
import { dropAwsNodeVersionNotice } from '../../platform/nodeWarnings';
import { defaultPaths } from '../../platform/paths';
import { runWorker } from '../../workers/main';
import {
  ensureStackTools,
  RESTARTABLE_PARTS,
  type RestartablePart,
  stackDown,
  stackRestart,
  stackStatus,
  stackUp,
  StackError,
} from '../stack/control';
import type { PartHealth } from '../stack/health';
import { ToolBuildError } from '../stack/tools';
import { PortTakenError } from '../stack/ports';
import { runMainJob } from './start';
import { registerSpecCommands } from './specCommand';
import { registerShopCommands } from './shopCommand';
import { LifecycleCommandError, registerLifecycleCommands } from './lifecycleCommands';
import { registerTeachCommands } from './teachCommand';
import { registerModelCommands } from './modelCommands';
import { registerScoreCommand } from './scoreCommand';
import { registerAuditCommands } from './auditCommand';
import { registerGcCommand } from './gcCommand';
import { registerDoctorCommand } from './doctorCommand';
import { registerServeCommand } from './serveCommand';
import { KeysCommandError, keysPool, registerKeysCommands } from './keysCommand';
import { UntrustedSigningKeyError, WORKER_QUEUES, type WorkerQueues } from '../../workers/kerfWorker';
import { registerAccessCommands } from './accessCommands';
import { AccessError } from '../../access/errors';
import { TeachError } from '../../monitoring/categoryMappings';
import { ShopGenerateError } from '../../shop/load';

dropAwsNodeVersionNotice();

const say = (line: string) => console.log(line);

function config(overrides: Record<string, string> = {}): KerfConfig {
  return loadConfig({ ...process.env, ...overrides }, defaultPaths);
}

function printHealth(health: PartHealth[], asJson: boolean): void {
  if (asJson) {
    console.log(JSON.stringify(health, null, 2));
    return;
  }
  for (const part of health) {
    const mark = part.healthy ? 'healthy  ' : 'UNHEALTHY';
    const where = part.embedded ? 'embedded' : 'external';
    console.log(`${part.part.padEnd(9)} ${mark} ${part.address} [${where}] - ${part.detail}`);
  }
}

const program = new Command()
  .name('kerf')
  .description('Durable MLOps for sheet-metal shops: models for route times, energy, scrap and quote prices.')
  .showHelpAfterError();

program
  .command('start')
  .description(
    'bring the stack up with the worker and the prediction API, generate shop data on the first start, start the cut-time lifecycle and say where to approve it',
  )
  .option('--once', 'stop after the smoke workflow completes (and stop the stack if this command started it)')
  .addHelpText('after', '\nExamples:\n  kerf start\n  kerf start --once')
  .action(async (options: { once?: boolean }) => {
    await runMainJob(config(), { once: options.once ?? false });
  });

/** `up`, `down` and `status` of the stack; `overrides` pins variables (the cluster aliases). */
function registerStackCommands(parent: Command, overrides: Record<string, string> = {}): void {
  parent
    .command('up')
    .description('start every embedded part in the background and return once all are healthy')
    .option('--json', 'print the health report as JSON')
    .action(async (options: { json?: boolean }) => {
      const { health } = await stackUp(config(overrides), options.json ? () => undefined : say);
      printHealth(health, options.json ?? false);
    });
  parent
    .command('down')
    .description('stop what `kerf stack up` started (data is kept in .data/)')
    .action(async () => {
      await stackDown(config(overrides), say);
    });
  parent
    .command('restart')
    .description(
      'restart a part of the running stack in place and wait until it is healthy again (runs and schedules go on)',
    )
    .addArgument(new Argument('<part>', 'the part to restart').choices(RESTARTABLE_PARTS))
    .option('--json', 'print the health report as JSON')
    .action(async (part: RestartablePart, options: { json?: boolean }) => {
      const health = await stackRestart(config(overrides), part, options.json ? () => undefined : say);
      printHealth(health, options.json ?? false);
    });
  parent
    .command('status')
    .description("print each part's address and health; exit 0 only when all are healthy")
    .option('--json', 'print the health report as JSON')
    .action(async (options: { json?: boolean }) => {
      const health = await stackStatus(config(overrides));
      printHealth(health, options.json ?? false);
      if (health.some((part) => !part.healthy)) process.exitCode = 1;
    });
}
registerStackCommands(program.command('stack').description('the local stack: Temporal, PostgreSQL and S3'));
registerStackCommands(
  program
    .command('cluster')
    .description(
      'the local stack with a real Temporal server on PostgreSQL instead of the dev server (KERF_TEMPORAL_SERVER=cluster)',
    ),
  { KERF_TEMPORAL_SERVER: 'cluster' },
);

program
  .command('tools')
  .description('tools Kerf builds itself')
  .command('install')
  .description('build the Temporal CLI and versitygw into .tools/bin when they are not already available')
  .option(
    '--cluster',
    "also build the local cluster's Temporal server, SQL schema tool and Web UI server (minutes the first time)",
  )
  .action(async (options: { cluster?: boolean }) => {
    const tools = await ensureStackTools(config(), say, { withCluster: options.cluster ?? false });
    for (const [name, binary] of Object.entries(tools)) say(`${name}: ${binary}`);
  });

program
  .command('worker')
  .description(
    'run the Kerf worker until Ctrl-C: the light task queue (workflows, data, registry, gates, deploy, nightly), the heavy one (training, evaluation) or both',
  )
  .addOption(
    new Option('--queues <which>', 'the task queues this process polls')
      .choices(WORKER_QUEUES)
      .default('all' satisfies WorkerQueues),
  )
  .action(async (options: { queues: WorkerQueues }) => {
    await runWorker({ queues: options.queues });
  });

program
  .command('import-csv')
  .description('load a CSV file into a new PostgreSQL table, with column types inferred from the data')
  .argument('<file>', 'UTF-8 CSV file with a header line')
  .requiredOption('--table <name>', 'table to create: name or schema.name (letters, digits, underscores)')
  .option('--replace', 'drop the table first if it exists (in the same transaction)')
  .option('--json', 'print the result as JSON')
  .addHelpText(
    'after',
    '\nExamples:\n  kerf import-csv Steel_industry_data.csv --table steel_energy\n' +
      '  kerf import-csv ai4i2020.csv --table raw.ai4i --replace --json',
  )
  .action(async (file: string, options: { table: string; replace?: boolean; json?: boolean }) => {
    // Loading data makes a table: the owner role's work, not the application role's.
    const pool = createPool(
      { url: config().postgres.ownerUrl },
      { max: 1, applicationName: 'kerf import-csv' },
    );
    try {
      const result = await importCsv(pool, file, { table: options.table, replace: options.replace ?? false });
      if (options.json) {
        console.log(JSON.stringify(result, null, 2));
        return;
      }
      say(`Loaded ${result.rows} rows into ${result.table} (${result.columns.length} columns):`);
      const width = Math.max(...result.columns.map((column) => column.name.length));
      for (const column of result.columns) say(`  ${column.name.padEnd(width)}  ${column.type}`);
    } finally {
      await pool.end();
    }
  });

/** Known failures get one clear line (or a few for the stack); anything else keeps its stack trace. */
function explain(error: unknown): string {
  if (
    error instanceof ConfigError ||
    error instanceof StackError ||
    error instanceof ToolBuildError ||
    error instanceof PortTakenError ||
    error instanceof CsvImportError ||
    error instanceof ShopGenerateError ||
    error instanceof LifecycleCommandError ||
    error instanceof TeachError ||
    error instanceof AccessError ||
    error instanceof PipelineSpecError ||
    error instanceof KeysCommandError ||
    error instanceof UntrustedSigningKeyError
  ) {
    return `kerf: ${error.message}`;
  }
  return error instanceof Error ? `kerf: ${error.stack ?? error.message}` : `kerf: ${String(error)}`;
}

registerSpecCommands(program);
registerShopCommands(program);
registerLifecycleCommands(program);
registerTeachCommands(program);
registerModelCommands(program);
registerScoreCommand(program);
registerAuditCommands(program);
registerGcCommand(program);
registerDoctorCommand(program);
registerServeCommand(program, say);
registerKeysCommands(program, () => keysPool(config()));
registerAccessCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(explain(error));
  process.exit(1);
});
