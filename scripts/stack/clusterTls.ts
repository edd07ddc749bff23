/**
 * The local cluster's mutual TLS material: a CA, a server certificate for the frontend and a client
 * certificate for workers, clients, the Web UI server and the system worker, made with openssl into
 * `<dataDir>/cluster/tls/` (0700 folder, 0600 keys) on first use and kept afterwards.
 */
import { execFile } from 'node:child_process';
import { access, chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { localClusterClientTls } from '../../platform/config';
import { clusterDir, type ClusterTlsFiles } from './clusterConfig';

/** The name the server certificate is made for; clients connecting to 127.0.0.1 check this name. */
export const CLUSTER_SERVER_NAME = 'localhost';

/** Where the certificates live; the file names are fixed so other tools can be pointed at them. */
export function clusterTlsFiles(dataDir: string): ClusterTlsFiles & { dir: string; environmentFile: string } {
  // The client's files are where Kerf's configuration looks for them (localClusterClientTls).
  const client = localClusterClientTls(dataDir);
  const dir = path.join(clusterDir(dataDir), 'tls');
  return {
    dir,
    caCert: client.caFile ?? path.join(dir, 'ca.pem'),
    serverCert: path.join(dir, 'server.pem'),
    serverKey: path.join(dir, 'server.key'),
    clientCert: client.clientCertFile ?? path.join(dir, 'client.pem'),
    clientKey: client.clientKeyFile ?? path.join(dir, 'client.key'),
    serverName: CLUSTER_SERVER_NAME,
    environmentFile: path.join(dir, 'temporal-tls.env'),
  };
}

/** How long the local certificates last: a development cluster, remade by deleting the folder. */
const DAYS = '825';

const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-noenc'];

/**
 * The openssl invocations that make the three certificates, in order: a self-signed CA, then a
 * server and a client certificate signed by it (`req -x509 -CA`, OpenSSL 3). Pure, for the tests.
 */
export function opensslSteps(files: ClusterTlsFiles & { dir: string }): string[][] {
  const caKey = path.join(files.dir, 'ca.key');
  const leaf = (subject: string, key: string, cert: string, extensions: string[]) => [
    'req',
    '-x509',
    ...newKey,
    '-keyout',
    key,
    '-out',
    cert,
    '-CA',
    files.caCert,
    '-CAkey',
    caKey,
    '-days',
    DAYS,
    '-sha256',
    '-subj',
    subject,
    ...extensions.flatMap((extension) => ['-addext', extension]),
  ];
  return [
    [
      'req',
      '-x509',
      ...newKey,
      '-keyout',
      caKey,
      '-out',
      files.caCert,
      '-days',
      DAYS,
      '-sha256',
      '-subj',
      '/CN=Kerf local Temporal CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    leaf('/CN=Kerf local Temporal frontend', files.serverKey, files.serverCert, [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=DNS:${files.serverName},IP:127.0.0.1`,
    ]),
    leaf('/CN=kerf-local-client', files.clientKey, files.clientCert, [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=clientAuth',
    ]),
  ];
}

/** The variables Kerf's clients and workers will read to connect with the client certificate. */
export function tlsEnvironment(files: ClusterTlsFiles): string {
  return [
    `TEMPORAL_TLS_CERT=${files.clientCert}`,
    `TEMPORAL_TLS_KEY=${files.clientKey}`,
    `TEMPORAL_TLS_CA=${files.caCert}`,
    `TEMPORAL_TLS_SERVER_NAME=${files.serverName}`,
    '',
  ].join('\n');
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

/**
 * Makes the certificates unless all of them exist; writes `temporal-tls.env` naming them.
 *
 * @param openssl the openssl binary
 * @default '/usr/bin/openssl' when present, else `openssl` on PATH
 */
export async function ensureClusterTls(dataDir: string, openssl?: string): Promise<ClusterTlsFiles> {
  const files = clusterTlsFiles(dataDir);
  const wanted = [files.caCert, files.serverCert, files.serverKey, files.clientCert, files.clientKey];
  const present = await Promise.all(wanted.map(exists));
  if (!present.every(Boolean)) {
    await mkdir(files.dir, { recursive: true, mode: 0o700 });
    await chmod(files.dir, 0o700);
    const binary = openssl ?? ((await exists('/usr/bin/openssl')) ? '/usr/bin/openssl' : 'openssl');
    for (const args of opensslSteps(files)) {
      try {
        await promisify(execFile)(binary, args, { cwd: files.dir });
      } catch (error) {
        const detail = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
        throw new Error(
          `Could not make the local cluster's TLS certificates with ${binary} (${detail}). ` +
            `Install OpenSSL 3, or delete ${files.dir} and run kerf stack up again.`,
        );
      }
    }
    for (const key of [path.join(files.dir, 'ca.key'), files.serverKey, files.clientKey])
      await chmod(key, 0o600);
  }
  await writeFile(files.environmentFile, tlsEnvironment(files), { mode: 0o600 });
  return files;
}
