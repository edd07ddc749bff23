/**
 * `kerf doctor`: checks that the roles Kerf connects as hold no more than they need (the runtime
 * role is no superuser, cannot create roles or databases, owns none of Kerf's tables, and the spec
 * reader cannot read Kerf's own schemas), and says how to fix what is wrong.
 */
import type { Command } from 'commander';
import pg from 'pg';
import { KERF_OWN_SCHEMAS, loadConfig } from '../../platform/config';
import { defaultPaths } from '../../platform/paths';
import { postgresClientConfig } from '../../platform/database';

/** The problems found with the roles of a configuration, one sentence each; empty when all is well. */
export async function privilegeProblems(urls: { url: string; readerUrl: string }): Promise<string[]> {
  const problems: string[] = [];
  const app = new pg.Client({ ...postgresClientConfig(urls.url), application_name: 'kerf doctor' });
  await app.connect();
  try {
    const { rows } = await app.query<{
      role: string;
      super: boolean;
      createrole: boolean;
      createdb: boolean;
    }>(
      `SELECT current_user AS role, rolsuper AS super, rolcreaterole AS createrole, rolcreatedb AS createdb
         FROM pg_roles WHERE rolname = current_user`,
    );
    const role = rows[0];
    if (role?.super) problems.push(`the runtime role ${role.role} is a superuser`);
    if (role?.createrole) problems.push(`the runtime role ${role.role} may create roles (CREATEROLE)`);
    if (role?.createdb) problems.push(`the runtime role ${role.role} may create databases (CREATEDB)`);
    const owned = await app.query<{ name: string }>(
      `SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p') AND pg_has_role(c.relowner, 'USAGE')
        ORDER BY 1`,
      [KERF_OWN_SCHEMAS],
    );
    if (owned.rows.length > 0 && !role?.super) {
      problems.push(
        `the runtime role ${role?.role ?? '?'} owns Kerf's tables (${owned.rows.map((row) => row.name).join(', ')}), ` +
          "so it could switch off the audit log's triggers",
      );
    }
  } finally {
    await app.end();
  }
  const reader = new pg.Client({ ...postgresClientConfig(urls.readerUrl), application_name: 'kerf doctor' });
  await reader.connect();
  try {
    const { rows } = await reader.query<{ schema: string }>(
      `SELECT nspname AS schema FROM pg_namespace
        WHERE nspname = ANY($1::text[]) AND has_schema_privilege(current_user, oid, 'USAGE') ORDER BY 1`,
      [KERF_OWN_SCHEMAS],
    );
    if (rows.length > 0) {
      problems.push(
        `the spec reader role can read Kerf's own schemas (${rows.map((row) => row.schema).join(', ')})`,
      );
    }
  } finally {
    await reader.end();
  }
  return problems;
}

/** Adds `kerf doctor [--strict]`. */
export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      "check that Kerf's PostgreSQL roles hold no more than they need; --strict exits 1 on a warning",
    )
    .option('--strict', 'exit 1 when anything is wrong')
    .addHelpText('after', '\nExample:\n  kerf doctor --strict')
    .action(async (options: { strict?: boolean }) => {
      const config = loadConfig(process.env, defaultPaths);
      const problems = await privilegeProblems(config.postgres);
      if (problems.length === 0) {
        console.log('ok: the runtime and spec reader roles hold only what Kerf needs');
        return;
      }
      for (const problem of problems) console.log(`WARNING: ${problem}`);
      console.log(
        'Give Kerf an owner, an application and a reader role (see "Using an existing Temporal, PostgreSQL and S3" ' +
          'in the README): DATABASE_URL as a member of kerf_app, KERF_OWNER_DATABASE_URL as the owner, ' +
          'KERF_READER_DATABASE_URL as a member of kerf_reader, e.g.\n' +
          "  CREATE ROLE kerf_app_user LOGIN PASSWORD '...' IN ROLE kerf_app;\n" +
          "  CREATE ROLE kerf_reader_user LOGIN PASSWORD '...' IN ROLE kerf_reader;\n" +
          '  ALTER DATABASE kerf OWNER TO kerf_owner;',
      );
      if (options.strict) process.exitCode = 1;
    });
}
