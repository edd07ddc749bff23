import { describe, expect, it } from 'vitest';
import { clusterTlsFiles, opensslSteps, tlsEnvironment } from '../../../../scripts/stack/clusterTls';

const files = clusterTlsFiles('/srv/kerf/.data');
const valuesAfter = (args: string[], flag: string) =>
  args.flatMap((arg, index) => (arg === flag ? [args[index + 1]] : []));

describe('the local cluster certificates', () => {
  it('live under <dataDir>/cluster/tls with fixed names', () => {
    expect(files).toMatchObject({
      dir: '/srv/kerf/.data/cluster/tls',
      caCert: '/srv/kerf/.data/cluster/tls/ca.pem',
      clientKey: '/srv/kerf/.data/cluster/tls/client.key',
      serverName: 'localhost',
    });
  });

  it('are a CA, then a server and a client certificate it signs, with P-256 keys and no passphrase', () => {
    const [ca, server, client] = opensslSteps(files);
    for (const step of [ca, server, client]) {
      expect(step?.slice(0, 2)).toEqual(['req', '-x509']);
      expect(step).toEqual(
        expect.arrayContaining(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-noenc']),
      );
    }
    expect(valuesAfter(ca ?? [], '-addext')).toEqual([
      'basicConstraints=critical,CA:TRUE',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    expect(ca).not.toContain('-CA');
    for (const leaf of [server, client]) {
      expect(valuesAfter(leaf ?? [], '-CA')).toEqual([files.caCert]);
      expect(valuesAfter(leaf ?? [], '-CAkey')).toEqual(['/srv/kerf/.data/cluster/tls/ca.key']);
    }
    expect(valuesAfter(server ?? [], '-addext')).toContain('extendedKeyUsage=serverAuth');
    expect(valuesAfter(server ?? [], '-addext')).toContain('subjectAltName=DNS:localhost,IP:127.0.0.1');
    expect(valuesAfter(server ?? [], '-keyout')).toEqual([files.serverKey]);
    expect(valuesAfter(client ?? [], '-addext')).toContain('extendedKeyUsage=clientAuth');
    expect(valuesAfter(client ?? [], '-out')).toEqual([files.clientCert]);
  });

  it('are named for the TEMPORAL_TLS_* variables of clients and workers', () => {
    expect(tlsEnvironment(files).split('\n')).toEqual([
      `TEMPORAL_TLS_CERT=${files.clientCert}`,
      `TEMPORAL_TLS_KEY=${files.clientKey}`,
      `TEMPORAL_TLS_CA=${files.caCert}`,
      'TEMPORAL_TLS_SERVER_NAME=localhost',
      '',
    ]);
  });
});
