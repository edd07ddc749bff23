/** `kerf login`, `kerf whoami`, `kerf users ...`, `kerf tokens ...`: people, their keys and API tokens. */
import os from 'node:os';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import {
  accessIsEmpty,
  addServiceToken,
  addUser,
  authenticateKey,
  disableUser,
  issueUserKey,
  listServiceTokens,
  listUsers,
  loginSettings,
  parseRoles,
  parseScopes,
  requireAdmin,
  revokeServiceToken,
  storeKey,
} from '../../access';
import { asLoggedIn, currentIdentity, withDatabase } from './login';

/** Reads one line from stdin (a key is never taken from the command line, where others can see it). */
async function readKeyFromInput(): Promise<string> {
  const lines = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
  try {
    if (process.stdin.isTTY) process.stderr.write('Paste your Kerf key (kk_...) and press Enter: ');
    const line = await lines[Symbol.asyncIterator]().next();
    return typeof line.value === 'string' ? line.value.trim() : '';
  } finally {
    lines.close();
  }
}

export function registerAccessCommands(program: Command): void {
  program
    .command('login')
    .description('check your key against Kerf and keep it in your credentials file (mode 0600)')
    .addHelpText(
      'after',
      '\nThe key is read from KERF_KEY or from standard input, never from the command line.\n' +
        'Example:\n  kerf login < my-key.txt\n  KERF_CREDENTIALS_FILE=~/.kerf-admin kerf login',
    )
    .action(async () => {
      const settings = loginSettings(process.env, os.homedir());
      const key = settings.key ?? (await readKeyFromInput());
      await withDatabase('kerf login', async (pool) => {
        const identity = await authenticateKey(pool, key);
        await storeKey(settings.credentialsFile, key);
        console.log(
          `Logged in as ${identity.user.name} (${identity.user.roles.join(', ')}); key kept in ${settings.credentialsFile}`,
        );
      });
    });
  program
    .command('whoami')
    .description('print who your key says you are, your roles and your models')
    .action(async () => {
      const { user, keyId } = await asLoggedIn('kerf whoami', (_pool, by) => Promise.resolve(by));
      console.log(
        `${user.name}: roles ${user.roles.join(', ')}; models ${user.models.join(', ') || '(none)'}; key ${keyId}`,
      );
    });

  const users = program
    .command('users')
    .description('people who start runs, approve, teach and roll back (admin)');
  users
    .command('add')
    .argument('<name>', 'user name, e.g. shop-manager')
    .description(
      'add a user and print their first key (shown once); the first user of an empty Kerf must be an admin',
    )
    .requiredOption('--role <roles>', 'comma-separated: admin, starter, approver, operator, reader')
    .option('--models <models>', 'comma-separated pipeline names the user acts on, or * for all', '')
    .option('--display-name <text>', 'a readable name, e.g. "Anna, shop manager"')
    .addHelpText(
      'after',
      '\nExamples:\n  kerf users add anna --role admin\n  kerf users add shop-manager --role approver,operator --models cut-time,bend-time',
    )
    .action(async (name: string, options: { role: string; models: string; displayName?: string }) => {
      const roles = parseRoles(options.role);
      const models = options.models
        .split(',')
        .map((model) => model.trim())
        .filter((model) => model !== '');
      await withDatabase('kerf users', async (pool) => {
        // The first admin of an empty Kerf needs no key: there is nobody to ask for one.
        const by = (await accessIsEmpty(pool)) ? ('bootstrap' as const) : await currentIdentity(pool);
        const added = await addUser(
          pool,
          { name, roles, models, ...(options.displayName ? { displayName: options.displayName } : {}) },
          by,
        );
        console.log(
          `Added ${added.user.name} (${roles.join(', ')}${models.length ? `; models ${models.join(', ')}` : ''}).`,
        );
        console.log(`Their key (shown once; give it to them, they run \`kerf login\`):\n${added.key}`);
      });
    });
  users
    .command('list')
    .description('list users, their roles and models')
    .action(async () => {
      await asLoggedIn('kerf users', async (pool, by) => {
        requireAdmin(by);
        for (const user of await listUsers(pool)) {
          const state = user.disabledAt ? ` DISABLED ${user.disabledAt.toISOString()}` : '';
          console.log(
            `${user.name}: ${user.roles.join(', ')}; models ${user.models.join(', ') || '(none)'}${state}`,
          );
        }
      });
    });
  users
    .command('disable')
    .argument('<name>', 'user name')
    .description('disable a user: their keys and unused codes stop working')
    .action(async (name: string) => {
      await asLoggedIn('kerf users', async (pool, by) => {
        await disableUser(pool, name, by);
        console.log(`Disabled ${name}.`);
      });
    });
  users
    .command('key')
    .argument('<name>', 'user name')
    .description('issue a new key for a user (shown once)')
    .action(async (name: string) => {
      await asLoggedIn('kerf users', async (pool, by) => {
        const key = await issueUserKey(pool, name, by);
        console.log(`New key for ${name} (shown once):\n${key}`);
      });
    });

  const tokens = program.command('tokens').description('bearer tokens of API clients, with scopes (admin)');
  tokens
    .command('add')
    .argument('<name>', 'who uses it, e.g. quoting-system')
    .requiredOption('--scopes <scopes>', 'comma-separated: predict, outcomes, read, admin')
    .description('add a token and print it (shown once)')
    .addHelpText('after', '\nExample:\n  kerf tokens add quoting-system --scopes predict,outcomes')
    .action(async (name: string, options: { scopes: string }) => {
      const scopes = parseScopes(options.scopes);
      await asLoggedIn('kerf tokens', async (pool, by) => {
        const added = await addServiceToken(pool, { name, scopes }, by);
        console.log(
          `Token ${name} (${scopes.join(', ')}), shown once; send it as "Authorization: Bearer <token>":`,
        );
        console.log(added.text);
      });
    });
  tokens
    .command('list')
    .description('list tokens (never their secrets)')
    .action(async () => {
      await asLoggedIn('kerf tokens', async (pool, by) => {
        requireAdmin(by);
        for (const token of await listServiceTokens(pool)) {
          const state = token.revokedAt ? ` REVOKED ${token.revokedAt.toISOString()}` : '';
          const used = token.lastUsedAt ? `, last used ${token.lastUsedAt.toISOString()}` : '';
          console.log(`${token.name}: ${token.scopes.join(', ')} (id ${token.tokenId}${used})${state}`);
        }
      });
    });
  tokens
    .command('revoke')
    .argument('<name>', 'token name')
    .description('revoke a token: the API refuses it from the next request on')
    .action(async (name: string) => {
      await asLoggedIn('kerf tokens', async (pool, by) => {
        await revokeServiceToken(pool, name, by);
        console.log(`Revoked ${name}.`);
      });
    });
}
