/**
 * `kerf keys trust|list|revoke`: the admin's hand on the trust root of manifest signatures, and the
 * embedded stack's first-start step that trusts its own development key.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import type { Command } from 'commander';
import pg from 'pg';
import type { KerfConfig } from '../../platform/config';
import { createPool } from '../../platform/database';
import { loadOrCreateSigningKey } from '../../lifecycle/signing';
import {
  listAllSigningKeys,
  RegistryError,
  revokeSigningKey,
  trustSigningKey,
  type SigningKeyRecord,
} from '../../registry';
import type { Reporter } from '../stack/control';

/** A `kerf keys` refusal a person can act on: printed as one line, no stack trace. */
export class KeysCommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeysCommandError';
  }
}

/**
 * Trusts the public key in `file` (SPKI PEM, e.g. the `.pub` beside a development key).
 *
 * @param pool the owner connection: the application role cannot write the trust root
 * @param actor the admin, as the CLI layer authenticated them
 * @throws KeysCommandError for an unreadable file, not a public Ed25519 key, or a revoked key
 */
export async function trustKeyFile(
  pool: pg.Pool,
  file: string,
  options: { name: string; actor: string },
): Promise<{ key: SigningKeyRecord; trusted: boolean }> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new KeysCommandError(`cannot read the public key file ${file} (${code}): check the path`);
  }
  return refusalsAsKeysErrors(() =>
    trustSigningKey(pool, { publicKey: pem, name: options.name, actor: options.actor }),
  );
}

/**
 * Revokes a trusted key: what it signed is refused from then on, and workers holding it stop starting.
 *
 * @param pool the owner connection
 * @param actor the admin, as the CLI layer authenticated them
 */
export async function revokeKey(
  pool: pg.Pool,
  keyId: string,
  options: { actor: string; reason?: string },
): Promise<{ key: SigningKeyRecord; revoked: boolean }> {
  return refusalsAsKeysErrors(() =>
    revokeSigningKey(pool, { keyId, actor: options.actor, reason: options.reason }),
  );
}

/** One line per key ever trusted: id, state, name, who trusted (and revoked) it when. */
export function describeKeys(keys: readonly SigningKeyRecord[]): string[] {
  if (keys.length === 0) return ['No signing key is trusted: `kerf keys trust FILE --name NAME` trusts one.'];
  return keys.map((key) => {
    const trusted = `trusted by ${key.trustedBy} at ${key.trustedAt.toISOString()}`;
    const revoked = key.revokedAt
      ? `; REVOKED by ${key.revokedBy ?? '?'} at ${key.revokedAt.toISOString()}${key.revokeReason ? ` (${key.revokeReason})` : ''}`
      : '';
    return `${key.keyId}  ${key.revokedAt ? 'revoked' : 'trusted'}  ${key.name}  (${trusted}${revoked})`;
  });
}

/**
 * The embedded stack's first start: when the registry has never trusted any key, the start command
 * (acting as the embedded stack's admin, not the worker) trusts the development key it generated and
 * says so. Once any key was trusted or revoked, nothing is done: a new or revoked key then needs an
 * admin's `kerf keys trust`.
 *
 * @param pool the owner connection
 */
export async function trustDevelopmentKeyOnFirstStart(
  config: KerfConfig,
  pool: pg.Pool,
  report: Reporter,
): Promise<void> {
  if (!config.postgres.embedded || config.signing.privateKeyPem !== undefined) return;
  if ((await listAllSigningKeys(pool)).length > 0) return;
  const key = await loadOrCreateSigningKey(config.signing);
  await trustSigningKey(pool, {
    publicKey: key.publicKeyPem,
    name: `development key of the embedded stack (${key.keyFile ?? 'key file'})`,
    actor: 'kerf start (embedded stack, first start)',
  });
  report(
    `First start: trusted the development signing key ${key.keyId} (${key.publicKeyFile ?? 'its .pub file'}); \`kerf keys list\` shows it, \`kerf keys revoke ${key.keyId}\` withdraws it.`,
  );
}

/**
 * Who runs `kerf keys`. The admin check plugs in here: once the CLI logs people in (access/), this
 * returns the authenticated identity and refuses anyone without the admin role. Until then it is the
 * operating-system user, which is what the audit row records.
 */
function cliActor(): string {
  return `os-user:${os.userInfo().username}`;
}

/** Registry refusals, and PostgreSQL refusing the connection's role, as one-line errors. */
async function refusalsAsKeysErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof RegistryError) throw new KeysCommandError(error.message);
    if (error instanceof pg.DatabaseError && error.code === '42501') {
      // No database text goes out: the role and the fix are what the person needs.
      throw new KeysCommandError(
        'the database role Kerf connects as may not change trusted signing keys (only read them): ' +
          "run `kerf keys` with the owner role's connection",
      );
    }
    throw error;
  }
}

/**
 * Adds `kerf keys trust <file> --name NAME`, `kerf keys list [--json]` and `kerf keys revoke <id>`.
 *
 * @param adminPool opens the connection the trust root is written on (the owner role's)
 */
export function registerKeysCommands(program: Command, adminPool: () => pg.Pool): void {
  const keys = program
    .command('keys')
    .description('the signing keys whose manifests deploy, evaluation and serving trust (admin)');
  // Each command opens the owner connection for its one act and closes it, whatever happens.
  const withAdminPool = async (work: (pool: pg.Pool) => Promise<void>): Promise<void> => {
    const pool = adminPool();
    try {
      await work(pool);
    } finally {
      await pool.end();
    }
  };
  keys
    .command('trust')
    .description('trust a public key (PEM) to sign model manifests; audited')
    .argument('<file>', 'the public key, SPKI PEM (e.g. .data/keys/manifest-signing-dev.pem.pub)')
    .requiredOption('--name <name>', 'what the key is, e.g. "worker on press-shop-2"')
    .addHelpText(
      'after',
      '\nExamples:\n  kerf keys trust .data/keys/manifest-signing-dev.pem.pub --name "worker on press-shop-2"',
    )
    .action(async (file: string, options: { name: string }) => {
      await withAdminPool(async (pool) => {
        const { key, trusted } = await trustKeyFile(pool, file, { name: options.name, actor: cliActor() });
        console.log(
          trusted
            ? `Trusted signing key ${key.keyId} (${key.name}).`
            : `Signing key ${key.keyId} was already trusted.`,
        );
      });
    });
  keys
    .command('list')
    .description('every key ever trusted, revoked ones included')
    .option('--json', 'print the keys as JSON')
    .action(async (options: { json?: boolean }) => {
      await withAdminPool(async (pool) => {
        const all = await listAllSigningKeys(pool);
        if (options.json) console.log(JSON.stringify(all, null, 2));
        else for (const line of describeKeys(all)) console.log(line);
      });
    });
  keys
    .command('revoke')
    .description('stop trusting a key: what it signed is refused from now on; audited')
    .argument('<key-id>', 'the key id, as `kerf keys list` shows it')
    .option('--reason <text>', 'why, for the audit log')
    .action(async (keyId: string, options: { reason?: string }) => {
      await withAdminPool(async (pool) => {
        const { key, revoked } = await revokeKey(pool, keyId, { actor: cliActor(), reason: options.reason });
        console.log(
          revoked
            ? `Revoked signing key ${key.keyId} (${key.name}).`
            : `Signing key ${key.keyId} was already revoked.`,
        );
      });
    });
}

/**
 * The pool `kerf keys` writes with: the owner role, since the application role may only read the
 * trusted keys (a worker or anyone holding the runtime password cannot make a key trusted).
 */
export function keysPool(config: KerfConfig): pg.Pool {
  return createPool({ url: config.postgres.ownerUrl }, { max: 1, applicationName: 'kerf keys' });
}
