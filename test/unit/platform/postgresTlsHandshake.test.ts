/**
 * The TLS options of platform/postgresTls.ts in a real handshake with node-pg: a stand-in server
 * answers PostgreSQL's SSLRequest and presents a certificate for `localhost` signed by a CA made
 * here with openssl, then hangs up. What matters is whether the client accepted the certificate.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresClientConfig } from '../../../platform/database';

const run = promisify(execFile);
let dir = '';
let server: net.Server;
let port = 0;

async function openssl(...args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kerf-pg-tls-'));
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '1',
    '-subj',
    '/CN=kerf test CA',
  );
  await openssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=localhost',
  );
  await run('sh', ['-c', 'printf "subjectAltName=DNS:localhost\\n" > san.ext'], { cwd: dir });
  await openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '1',
    '-extfile',
    'san.ext',
  );
  const context = tls.createSecureContext({
    key: await readFile(path.join(dir, 'server.key')),
    cert: await readFile(path.join(dir, 'server.pem')),
  });
  server = net.createServer((socket) => {
    socket.once('data', () => {
      // The SSLRequest: say yes, then speak TLS on the same socket, and hang up once it is up.
      socket.write('S');
      const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: context });
      secure.once('secure', () => secure.destroy());
      secure.on('error', () => socket.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
}, 30_000);

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Connects and says how it ended: the certificate refused, or the connection up (then closed). */
async function handshake(host: string, query: string): Promise<string> {
  const client = new pg.Client({
    ...postgresClientConfig(
      `postgres://kerf:pw@${host}:${port}/kerf?${query.replace('CA', path.join(dir, 'ca.pem'))}`,
    ),
    connectionTimeoutMillis: 5000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return 'connected';
  } catch (error) {
    const message = (error as Error).message;
    return /certificate|Hostname\/IP|self.signed|issuer/i.test(message) ? `refused: ${message}` : 'accepted';
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('PostgreSQL TLS in a real handshake', () => {
  it('verify-full accepts the right CA and host name', async () => {
    expect(await handshake('localhost', 'sslmode=verify-full&sslrootcert=CA')).toBe('accepted');
  });

  it('verify-full refuses a host name the certificate does not name', async () => {
    expect(await handshake('127.0.0.1', 'sslmode=verify-full&sslrootcert=CA')).toMatch(
      /^refused: .*(IP|Hostname)/,
    );
  });

  it('verify-full refuses a certificate the system roots do not vouch for', async () => {
    expect(await handshake('localhost', 'sslmode=verify-full')).toMatch(/^refused/);
  });

  it('verify-ca checks the chain but not the name', async () => {
    expect(await handshake('127.0.0.1', 'sslmode=verify-ca&sslrootcert=CA')).toBe('accepted');
  });

  it('require encrypts without checking the certificate', async () => {
    expect(await handshake('127.0.0.1', 'sslmode=require')).toBe('accepted');
  });
});
