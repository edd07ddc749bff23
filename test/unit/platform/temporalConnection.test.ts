import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../platform/config';
import { temporalConnectionOptions, type FileReader } from '../../../platform/temporalConnection';

const paths = { dataDir: '/srv/kerf/.data', toolsDir: '/srv/kerf/.tools' };
const secrets = (name: string) => `generated-${name}`;

const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nsecret-key-bytes\n-----END PRIVATE KEY-----\n';

/** A file system of a few PEM files, and nothing else. */
const files: Record<string, string> = {
  '/etc/kerf/ca.pem': CERT,
  '/etc/kerf/client.pem': CERT,
  '/etc/kerf/client.key': KEY,
  '/etc/kerf/notes.txt': 'not a certificate',
};
const readFile: FileReader = (file) => {
  const text = files[file];
  if (text === undefined) throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
  return Buffer.from(text);
};

const temporalOf = (env: Record<string, string>) => loadConfig(env, paths, secrets).temporal;

function problemOf(env: Record<string, string>): string {
  try {
    temporalConnectionOptions(temporalOf(env), readFile);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.join('\n');
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('temporalConnectionOptions', () => {
  it('connects in plain text to the embedded dev server', () => {
    expect(temporalConnectionOptions(temporalOf({}), readFile)).toEqual({
      address: '127.0.0.1:7233',
      tls: undefined,
      apiKey: undefined,
    });
  });

  it('uses the system roots with TEMPORAL_TLS=true, and sends the API key of Temporal Cloud', () => {
    expect(
      temporalConnectionOptions(
        temporalOf({ TEMPORAL_ADDRESS: 'kerf.a1b2c.tmprl.cloud:7233', TEMPORAL_API_KEY: 'cloud-key' }),
        readFile,
      ),
    ).toEqual({ address: 'kerf.a1b2c.tmprl.cloud:7233', tls: {}, apiKey: 'cloud-key' });
    expect(temporalConnectionOptions(temporalOf({ TEMPORAL_TLS: 'true' }), readFile).tls).toEqual({});
  });

  it('reads the CA, the client certificate and key for mTLS, and overrides the server name', () => {
    const options = temporalConnectionOptions(
      temporalOf({
        TEMPORAL_ADDRESS: 'temporal.internal:7233',
        TEMPORAL_TLS_CA: '/etc/kerf/ca.pem',
        TEMPORAL_TLS_CERT: '/etc/kerf/client.pem',
        TEMPORAL_TLS_KEY: '/etc/kerf/client.key',
        TEMPORAL_TLS_SERVER_NAME: 'frontend.temporal.internal',
      }),
      readFile,
    );
    expect(options.tls?.serverNameOverride).toBe('frontend.temporal.internal');
    expect(Buffer.from(options.tls?.serverRootCACertificate ?? []).toString()).toBe(CERT);
    expect(Buffer.from(options.tls?.clientCertPair?.crt ?? []).toString()).toBe(CERT);
    expect(Buffer.from(options.tls?.clientCertPair?.key ?? []).toString()).toBe(KEY);
    expect(options.apiKey).toBeUndefined();
  });

  it('names the variable of a missing file', () => {
    expect(problemOf({ TEMPORAL_TLS_CA: '/etc/kerf/missing.pem' })).toBe(
      'TEMPORAL_TLS_CA=/etc/kerf/missing.pem cannot be read (no such file); it must be the path of a CA certificate in PEM form',
    );
  });

  it('names the variable of a file that is not PEM, or the wrong PEM', () => {
    expect(problemOf({ TEMPORAL_TLS_CA: '/etc/kerf/notes.txt' })).toMatch(
      /^TEMPORAL_TLS_CA=\/etc\/kerf\/notes.txt is not a CA certificate in PEM form/,
    );
    // Certificate and key swapped: the key file must hold a private key.
    const swapped = problemOf({
      TEMPORAL_TLS_CERT: '/etc/kerf/client.key',
      TEMPORAL_TLS_KEY: '/etc/kerf/client.pem',
    });
    expect(swapped).toMatch(/^TEMPORAL_TLS_CERT=\/etc\/kerf\/client.key is not a client certificate/);
  });

  it('never quotes a key in its errors', () => {
    const problem = problemOf({
      TEMPORAL_TLS_CERT: '/etc/kerf/client.key',
      TEMPORAL_TLS_KEY: '/etc/kerf/client.key',
    });
    expect(problem).not.toContain('secret-key-bytes');
  });
});
