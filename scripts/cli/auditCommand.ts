/** `kerf audit verify`: checks the audit log's hash chain and names the first row that does not match. */
import type { Command } from 'commander';
import { loadConfig } from '../../platform/config';
import { createPool } from '../../platform/database';
import { defaultPaths } from '../../platform/paths';
import { verifyAuditChain } from '../../registry/auditChain';
import { LifecycleCommandError } from './lifecycleCommands';

/** Adds `kerf audit verify [--json]`. */
export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the audit log of every decision');
  audit
    .command('verify')
    .description("check the audit log's hash chain; exit 1 naming the first row that was changed or removed")
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExample:\n  kerf audit verify')
    .action(async (options: { json?: boolean }) => {
      const config = loadConfig(process.env, defaultPaths);
      const pool = createPool(config.postgres, { max: 1, applicationName: 'kerf audit verify' });
      try {
        const report = await verifyAuditChain(pool).catch((error: unknown) => {
          const code = (error as { code?: string }).code;
          if (code === 'ECONNREFUSED') {
            throw new LifecycleCommandError(
              'cannot reach PostgreSQL; start the stack with `kerf stack up` or check DATABASE_URL.',
            );
          }
          if (code === '42P01' || code === '42703' || code === '3F000') {
            throw new LifecycleCommandError(
              'the audit log has no hash chain yet; run `kerf stack up` (or `kerf worker`) once to apply the migrations.',
            );
          }
          throw error;
        });
        if (options.json) console.log(JSON.stringify(report, null, 2));
        else if (report.ok) console.log(`ok: the audit log's ${report.rows} rows form an unbroken chain`);
        else console.log(`BROKEN: ${report.firstBreak?.message ?? 'the chain does not hold'}`);
        if (!report.ok) process.exitCode = 1;
      } finally {
        await pool.end();
      }
    });
}
