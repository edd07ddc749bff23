/**
 * The one way Kerf connects to Temporal: the SDK's connection options (address, TLS, mTLS, API key)
 * built from `config.temporal`, and helpers that open a client Connection and a worker
 * NativeConnection with them. Every process and test connects through here, so a TLS setting
 * configured once reaches every connection.
 */
import { readFileSync } from 'node:fs';
import { Connection, type ConnectionOptions, type TLSConfig } from '@temporalio/client';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import { ConfigError, type TemporalConfig } from './config';
import { type FileReader, readPemFile } from './pemFile';

export type { FileReader } from './pemFile';

/** The options both kinds of connection share: where, and how it is secured. */
export interface TemporalConnectionOptions {
  address: string;
  /** Undefined for plain text; `{}` for TLS with the system's roots. */
  tls: TLSConfig | undefined;
  /** Temporal Cloud API key; a secret. */
  apiKey: string | undefined;
}

/**
 * Reads one PEM file named by `variable`, failing with a ConfigError that names the variable (and
 * never quotes the file's contents: it may be a private key).
 */
function readPem(
  variable: string,
  file: string,
  expected: RegExp,
  what: string,
  readFile: FileReader,
): Buffer {
  const pem = readPemFile(file, expected, readFile);
  if (pem.ok) return pem.bytes;
  throw new ConfigError([
    pem.problem === 'unreadable'
      ? `${variable}=${file} cannot be read (${pem.reason}); it must be the path of ${what}`
      : `${variable}=${file} is not ${what} (a PEM file with a "-----BEGIN ...-----" line)`,
  ]);
}

/**
 * Builds the SDK connection options from `config.temporal`, reading the PEM files now so that a
 * missing or wrong file stops the program at start-up, naming its variable.
 *
 * @param readFile @default node:fs readFileSync
 * @throws ConfigError naming the variable of a file that is missing or not PEM
 */
export function temporalConnectionOptions(
  config: Pick<TemporalConfig, 'address' | 'tls' | 'apiKey'>,
  readFile: FileReader = readFileSync,
): TemporalConnectionOptions {
  const { tls } = config;
  if (tls === undefined) return { address: config.address, tls: undefined, apiKey: config.apiKey };
  const options: TLSConfig = {};
  if (tls.serverName !== undefined) options.serverNameOverride = tls.serverName;
  if (tls.caFile !== undefined) {
    options.serverRootCACertificate = readPem(
      'TEMPORAL_TLS_CA',
      tls.caFile,
      /CERTIFICATE/,
      'a CA certificate in PEM form',
      readFile,
    );
  }
  if (tls.clientCertFile !== undefined && tls.clientKeyFile !== undefined) {
    options.clientCertPair = {
      crt: readPem(
        'TEMPORAL_TLS_CERT',
        tls.clientCertFile,
        /CERTIFICATE/,
        'a client certificate in PEM form',
        readFile,
      ),
      key: readPem(
        'TEMPORAL_TLS_KEY',
        tls.clientKeyFile,
        /PRIVATE KEY/,
        'a private key in PEM form',
        readFile,
      ),
    };
  }
  return { address: config.address, tls: options, apiKey: config.apiKey };
}

/** What a client Connection gets: the shared options, without keys a plain-text one does not take. */
function clientOptions(options: TemporalConnectionOptions): ConnectionOptions {
  return {
    address: options.address,
    ...(options.tls !== undefined && { tls: options.tls }),
    ...(options.apiKey !== undefined && { apiKey: options.apiKey }),
  };
}

/**
 * Opens a client Connection (starting runs, queries, updates, schedules). The caller closes it.
 *
 * @param extra e.g. `{ connectTimeout: '5 seconds' }`
 */
export async function connectTemporalClient(
  config: Pick<TemporalConfig, 'address' | 'tls' | 'apiKey'>,
  extra: Pick<ConnectionOptions, 'connectTimeout'> = {},
): Promise<Connection> {
  return Connection.connect({ ...clientOptions(temporalConnectionOptions(config)), ...extra });
}

/** Opens the NativeConnection a Worker polls through. The caller closes it. */
export async function connectTemporalWorker(
  config: Pick<TemporalConfig, 'address' | 'tls' | 'apiKey'>,
): Promise<NativeConnection> {
  const options = temporalConnectionOptions(config);
  const native: NativeConnectionOptions = {
    address: options.address,
    ...(options.tls !== undefined && { tls: options.tls }),
    ...(options.apiKey !== undefined && { apiKey: options.apiKey }),
  };
  return NativeConnection.connect(native);
}
