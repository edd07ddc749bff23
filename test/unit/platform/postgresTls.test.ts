import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../platform/config';
import { postgresConnection, PostgresTlsError } from '../../../platform/postgresTls';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nsecret-key-bytes\n-----END PRIVATE KEY-----\n';
const files: Record<string, string> = {
  '/etc/kerf/db-ca.pem': CA,
  '/etc/kerf/db-client.pem': CA,
  '/etc/kerf/db-client.key': KEY,
};
const readFile = (file: string) => {
  const text = files[file];
  if (text === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
  return Buffer.from(text);
};
const base = 'postgres://kerf_app_user:pw@db.internal:5432/kerf';
const connect = (query: string) => postgresConnection(`${base}?${query}`, readFile);

describe('postgresConnection', () => {
  it('leaves a URL without TLS parameters to node-pg', () => {
    expect(postgresConnection(base, readFile)).toEqual({ connectionString: base, ssl: undefined });
  });

  it('takes the TLS parameters out of the URL, keeping the others', () => {
    const { connectionString } = connect(
      'sslmode=verify-full&sslrootcert=/etc/kerf/db-ca.pem&application_name=x',
    );
    expect(connectionString).toBe(`${base}?application_name=x`);
  });

  it('disable is plain text', () => {
    expect(connect('sslmode=disable').ssl).toBe(false);
  });

  it('require encrypts without checking the certificate, as libpq does', () => {
    expect(connect('sslmode=require').ssl).toEqual({ rejectUnauthorized: false });
  });

  it('require with a CA checks the chain but not the name (verify-ca)', () => {
    const ssl = connect('sslmode=require&sslrootcert=/etc/kerf/db-ca.pem').ssl;
    expect(ssl).toMatchObject({ ca: CA });
    expect(ssl && ssl.rejectUnauthorized).not.toBe(false);
    expect(ssl && ssl.checkServerIdentity?.('other.host', {} as never)).toBeUndefined();
  });

  it('verify-ca needs a CA of its own', () => {
    expect(() => connect('sslmode=verify-ca')).toThrow(PostgresTlsError);
    expect(() => connect('sslmode=verify-ca&sslrootcert=system')).toThrow(/needs sslrootcert/);
  });

  it('verify-full checks the chain and the host name: no identity override, nothing unauthorized passes', () => {
    const ssl = connect('sslmode=verify-full&sslrootcert=/etc/kerf/db-ca.pem');
    expect(ssl.ssl).toEqual({ ca: CA, rejectUnauthorized: true });
    // node's default checkServerIdentity (host name against the certificate) stays in force.
    expect(ssl.ssl && 'checkServerIdentity' in ssl.ssl).toBe(false);
    expect(connect('sslmode=verify-full&sslrootcert=system').ssl).toEqual({ rejectUnauthorized: true });
    expect(connect('sslmode=verify-full').ssl).toEqual({ rejectUnauthorized: true });
  });

  it('a CA without sslmode means verify-full, not less', () => {
    expect(connect('sslrootcert=/etc/kerf/db-ca.pem').ssl).toEqual({ ca: CA, rejectUnauthorized: true });
  });

  it('reads a client certificate and key, together only', () => {
    expect(
      connect('sslmode=verify-full&sslcert=/etc/kerf/db-client.pem&sslkey=/etc/kerf/db-client.key').ssl,
    ).toEqual({ cert: CA, key: KEY, rejectUnauthorized: true });
    expect(() => connect('sslmode=verify-full&sslcert=/etc/kerf/db-client.pem')).toThrow(/go together/);
  });

  it('names the parameter of a missing or wrong file, never quoting a key', () => {
    expect(() => connect('sslmode=verify-full&sslrootcert=/nope.pem')).toThrow(
      'sslrootcert=/nope.pem cannot be read (no such file)',
    );
    let message = '';
    try {
      connect('sslmode=verify-full&sslrootcert=/etc/kerf/db-client.key');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('sslrootcert=/etc/kerf/db-client.key is not a PEM file of the right kind');
    expect(message).not.toContain('secret-key-bytes');
  });

  it('stops the configuration at start-up, naming the variable', () => {
    try {
      loadConfig(
        { DATABASE_URL: base, KERF_OWNER_DATABASE_URL: 'postgres://o:pw@db.internal/kerf?sslmode=verify-ca' },
        { dataDir: '/srv/kerf/.data', toolsDir: '/srv/kerf/.tools' },
        (name) => name,
      );
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems[0]).toMatch(
        /^KERF_OWNER_DATABASE_URL: sslmode=verify-ca needs sslrootcert/,
      );
    }
  });
});
