/**
 * TLS towards PostgreSQL as libpq's URL parameters mean it (`sslmode`, `sslrootcert`, `sslcert`,
 * `sslkey`), turned into node-pg's `ssl` options. node-pg's own parsing treats every sslmode as
 * verify-full and cannot skip the name check of verify-ca, so Kerf takes the parameters out of the
 * URL and says itself what each mode checks.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { type FileReader, readPemFile } from './pemFile';

/** A problem with the TLS parameters of one URL; the caller names the variable. */
export class PostgresTlsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PostgresTlsError';
  }
}

/** What node-pg gets: the URL without the TLS parameters, and the TLS options they stood for. */
export interface PostgresConnection {
  connectionString: string;
  /** Undefined when the URL says nothing about TLS (node-pg's defaults, PGSSLMODE, then apply). */
  ssl: ConnectionOptions | false | undefined;
}

const TLS_PARAMETERS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey'] as const;

const noNameCheck = () => undefined;

function readPem(parameter: string, file: string, expected: RegExp, readFile: FileReader): string {
  const pem = readPemFile(file, expected, readFile);
  if (pem.ok) return pem.bytes.toString('utf8');
  throw new PostgresTlsError(
    pem.problem === 'unreadable'
      ? `${parameter}=${file} cannot be read (${pem.reason})`
      : `${parameter}=${file} is not a PEM file of the right kind`,
  );
}

/**
 * Splits a PostgreSQL URL into the URL node-pg parses and the TLS options it should use:
 *
 * - `disable`: plain text.
 * - `require`: encrypted, the server's certificate is not checked (libpq's meaning), unless
 *   `sslrootcert` is given, which makes it `verify-ca`.
 * - `verify-ca`: the certificate must chain to `sslrootcert` (required); the host name is not checked.
 * - `verify-full` (also when only `sslrootcert`, `sslcert` or `sslkey` is given): the chain to
 *   `sslrootcert` (or, with `sslrootcert=system` or none, the system's roots) and the host name.
 * - `sslcert` and `sslkey`: a client certificate, for servers that authenticate by certificate.
 *
 * @param readFile @default node:fs readFileSync
 * @throws PostgresTlsError for a file that is missing or not PEM, or verify-ca without a CA
 */
export function postgresConnection(url: string, readFile: FileReader = readFileSync): PostgresConnection {
  const parsed = new URL(url);
  const given = Object.fromEntries(
    TLS_PARAMETERS.map((name) => [name, parsed.searchParams.get(name) ?? undefined]),
  ) as Record<(typeof TLS_PARAMETERS)[number], string | undefined>;
  if (Object.values(given).every((value) => value === undefined))
    return { connectionString: url, ssl: undefined };
  for (const name of TLS_PARAMETERS) parsed.searchParams.delete(name);
  const connectionString = parsed.toString();
  const mode = given.sslmode ?? 'verify-full';
  if (mode === 'disable') return { connectionString, ssl: false };
  const rootCert = given.sslrootcert === 'system' ? undefined : given.sslrootcert;
  const ssl: ConnectionOptions = {};
  if (rootCert !== undefined) ssl.ca = readPem('sslrootcert', rootCert, /CERTIFICATE/, readFile);
  if ((given.sslcert === undefined) !== (given.sslkey === undefined)) {
    throw new PostgresTlsError('sslcert and sslkey go together: give both or neither');
  }
  if (given.sslcert !== undefined && given.sslkey !== undefined) {
    ssl.cert = readPem('sslcert', given.sslcert, /CERTIFICATE/, readFile);
    ssl.key = readPem('sslkey', given.sslkey, /PRIVATE KEY/, readFile);
  }
  switch (mode) {
    case 'require':
      if (ssl.ca === undefined) ssl.rejectUnauthorized = false;
      else ssl.checkServerIdentity = noNameCheck;
      break;
    case 'verify-ca':
      if (ssl.ca === undefined) {
        throw new PostgresTlsError(
          'sslmode=verify-ca needs sslrootcert=<CA PEM file>: with the system roots anyone with a public certificate would pass; use verify-full for those',
        );
      }
      ssl.checkServerIdentity = noNameCheck;
      break;
    case 'verify-full':
      ssl.rejectUnauthorized = true;
      break;
    default:
      throw new PostgresTlsError(`sslmode=${mode} is not one of disable, require, verify-ca, verify-full`);
  }
  return { connectionString, ssl };
}
