/**
 * The deployment templates in infra/deploy/ checked without Docker or systemd: the Compose file
 * parses and names the parts, every variable the templates set is one Kerf's configuration reads
 * (so the templates cannot drift from platform/config.ts), the example settings load, and every
 * command the units and services run exists in the kerf CLI.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../../platform/config';
import { repoRoot } from '../../../platform/paths';

const deployDir = path.join(repoRoot, 'infra', 'deploy');
const read = (name: string) => readFileSync(path.join(deployDir, name), 'utf8');
const run = promisify(execFile);

/** `KEY=value` lines, also the commented-out alternatives (`# KEY=value`). */
function envAssignments(text: string): { name: string; value: string; active: boolean }[] {
  return text.split('\n').flatMap((line) => {
    const match = /^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    return match?.[2] ? [{ name: match[2], value: match[3] ?? '', active: match[1] === undefined }] : [];
  });
}

interface ComposeService {
  image?: string;
  command?: string[];
  environment?: Record<string, string | number>;
  env_file?: string | string[];
}

// Compose resolves YAML 1.1 merge keys (`<<: *kerf`); so must the parser.
const compose = parse(read('compose.yaml'), { merge: true }) as { services: Record<string, ComposeService> };
const kerfServices = ['kerf-worker-heavy', 'kerf-worker-light', 'kerf-api'];

/** The kerf subcommands and each one's help text, from the CLI itself. */
const cliHelp = new Map<string, string>();
async function helpOf(command: string): Promise<string | undefined> {
  if (!cliHelp.has(command)) {
    try {
      const { stdout } = await run('node', [path.join(repoRoot, 'scripts', 'kerf.mjs'), command, '--help'], {
        cwd: repoRoot,
      });
      cliHelp.set(command, stdout);
    } catch {
      return undefined;
    }
  }
  return cliHelp.get(command);
}

async function expectKerfCommand(args: string[]): Promise<void> {
  const [command, ...rest] = args;
  expect(command, `a kerf subcommand in ${args.join(' ')}`).toBeDefined();
  const help = await helpOf(command ?? '');
  expect(help, `kerf ${command ?? ''} exists`).toMatch(new RegExp(`Usage: kerf ${command ?? ''}`));
  for (const option of rest.filter((arg) => arg.startsWith('--'))) {
    expect(help, `kerf ${command ?? ''} takes ${option}`).toContain(option);
  }
}

describe('infra/deploy/compose.yaml', () => {
  it('has PostgreSQL, Temporal with its admin tools, the two workers and the API', () => {
    const services = compose.services;
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining(['postgresql', 'temporal', 'temporal-admin-tools', ...kerfServices]),
    );
    expect(services.temporal?.image).toMatch(/^temporalio\/(auto-setup|server):/);
    expect(services['temporal-admin-tools']?.image).toMatch(/^temporalio\/admin-tools:/);
    expect(services.postgresql?.image).toMatch(/^postgres:/);
  });

  it('runs commands that exist in the kerf CLI', async () => {
    const commands = kerfServices.map((name) => compose.services[name]?.command ?? []);
    expect(commands.map((command) => command.slice(0, 3).join(' '))).toEqual([
      'npx kerf worker',
      'npx kerf worker',
      'npx kerf serve',
    ]);
    expect(commands[0]).toEqual(['npx', 'kerf', 'worker', '--queues', 'heavy']);
    expect(commands[1]).toEqual(['npx', 'kerf', 'worker', '--queues', 'light']);
    for (const command of commands) await expectKerfCommand(command.slice(2));
  }, 60_000);

  it('gives the Kerf services only variables Kerf reads, and commits no settings file', () => {
    for (const name of kerfServices) {
      const service = compose.services[name];
      expect(service?.env_file).toBe('kerf.env');
      for (const variable of Object.keys(service?.environment ?? {}))
        expect(CONFIG_VARIABLES).toContain(variable);
    }
    const files = readdirSync(deployDir);
    expect(files.filter((file) => file.endsWith('.env'))).toEqual([]);
  });
});

describe('infra/deploy/kerf.env.example', () => {
  const assignments = envAssignments(read('kerf.env.example'));

  it('sets only variables platform/config.ts reads, even in its commented alternatives', () => {
    expect(assignments.length).toBeGreaterThan(10);
    for (const { name } of assignments)
      expect(CONFIG_VARIABLES, `${name} in kerf.env.example`).toContain(name);
  });

  it('shows every production connection setting', () => {
    const names = assignments.map((assignment) => assignment.name);
    for (const name of [
      'DATABASE_URL',
      'KERF_OWNER_DATABASE_URL',
      'KERF_READER_DATABASE_URL',
      'TEMPORAL_ADDRESS',
      'TEMPORAL_NAMESPACE',
      'TEMPORAL_TLS',
      'TEMPORAL_TLS_CERT',
      'TEMPORAL_TLS_KEY',
      'TEMPORAL_TLS_CA',
      'TEMPORAL_TLS_SERVER_NAME',
      'TEMPORAL_API_KEY',
      'S3_ENDPOINT',
      'S3_BUCKET',
      'S3_REGION',
      'KERF_API_TOKEN',
    ]) {
      expect(names, name).toContain(name);
    }
  });

  it('holds no secret, only placeholders, and loads once they are filled in', () => {
    const filled: Record<string, string> = {};
    for (const { name, value, active } of assignments) {
      if (/TOKEN|SECRET|PASSWORD|API_KEY/.test(name)) expect(value, name).toMatch(/^<[^>]+>$/);
      if (active) filled[name] = value.replace(/<[^>]+>/g, 'placeholder-value-0123456789');
    }
    const config = loadConfig(
      filled,
      { dataDir: '/var/lib/kerf', toolsDir: '/opt/kerf/.tools' },
      () => 'unused',
    );
    expect(config.postgres.embedded).toBe(false);
    expect(config.temporal.embedded).toBe(false);
    expect(config.s3.embedded).toBe(false);
  });
});

describe('infra/deploy/systemd', () => {
  const units = ['kerf-worker-heavy.service', 'kerf-worker-light.service', 'kerf-api.service'];

  /** `Key=value` per section; a key given twice keeps its last value. */
  function sections(text: string): Record<string, Record<string, string>> {
    const result: Record<string, Record<string, string>> = {};
    let current: Record<string, string> | undefined;
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const section = /^\[(\w+)\]$/.exec(line);
      if (section?.[1]) {
        current = result[section[1]] = {};
        continue;
      }
      const separator = line.indexOf('=');
      expect(current, `"${line}" is inside a section`).toBeDefined();
      if (current && separator > 0) current[line.slice(0, separator)] = line.slice(separator + 1);
    }
    return result;
  }

  beforeAll(() => {
    expect(readdirSync(path.join(deployDir, 'systemd')).sort()).toEqual([...units].sort());
  });

  it.each(units)('%s has a dedicated user, an EnvironmentFile and the hardening options', (unit) => {
    const { Unit, Service, Install } = sections(read(path.join('systemd', unit)));
    expect(Unit?.Description).toBeTruthy();
    expect(Install?.WantedBy).toBe('multi-user.target');
    expect(Service).toMatchObject({
      User: 'kerf',
      EnvironmentFile: '/etc/kerf/kerf.env',
      NoNewPrivileges: 'true',
      ProtectSystem: 'strict',
      ProtectHome: 'true',
      PrivateTmp: 'true',
      ReadWritePaths: '/var/lib/kerf',
      Restart: 'on-failure',
    });
    expect(Service?.ExecStart).toMatch(/^\/usr\/bin\/node \/opt\/kerf\/scripts\/kerf\.mjs /);
  });

  it('runs commands that exist in the kerf CLI', async () => {
    const commands = units.map((unit) => {
      const execStart = sections(read(path.join('systemd', unit))).Service?.ExecStart ?? '';
      return execStart.split(/\s+/).slice(2);
    });
    expect(commands).toEqual([['worker', '--queues', 'heavy'], ['worker', '--queues', 'light'], ['serve']]);
    for (const command of commands) await expectKerfCommand(command);
  }, 60_000);
});
