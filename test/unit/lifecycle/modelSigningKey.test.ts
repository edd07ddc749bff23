import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKeyHint } from '../../../lifecycle/modelSignature';
import { loadOrCreateModelSigningKey } from '../../../lifecycle/modelSigningKey';

describe('model-signing keys', () => {
  let workDir: string;
  beforeAll(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'kerf-model-signing-key-'));
  });
  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it('creates a P-256 development key once, mode 0600, with its public half beside it', async () => {
    const keyFile = path.join(workDir, 'keys', 'model-signing-dev.pem');
    const first = await loadOrCreateModelSigningKey({ keyFile });
    expect(first).toMatchObject({
      created: true,
      source: 'key-file',
      keyFile,
      publicKeyFile: `${keyFile}.pub`,
    });
    expect(first.privateKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(`${keyFile}.pub`, 'utf8')).toBe(first.publicKeyPem);
    expect(first.hint).toBe(publicKeyHint(first.publicKeyPem));

    const second = await loadOrCreateModelSigningKey({ keyFile });
    expect(second).toMatchObject({ created: false, publicKeyPem: first.publicKeyPem });
    expect((await readdir(path.dirname(keyFile))).sort()).toEqual([
      'model-signing-dev.pem',
      'model-signing-dev.pem.pub',
    ]);
  });

  it('takes a configured ECDSA key, and refuses an Ed25519 one or garbage, naming the variable', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const configured = await loadOrCreateModelSigningKey({
      privateKeyPem: privateKey.export({ type: 'sec1', format: 'pem' }).toString(),
    });
    expect(configured).toMatchObject({
      source: 'configuration',
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    });
    const ed25519 = generateKeyPairSync('ed25519')
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    await expect(loadOrCreateModelSigningKey({ privateKeyPem: ed25519 })).rejects.toThrow(
      /^The configured model-signing key \(KERF_MODEL_SIGNING_KEY\): The model-signing key is a ed25519 key/,
    );
    await expect(loadOrCreateModelSigningKey({ privateKeyPem: 'not a pem' })).rejects.toThrow(
      /KERF_MODEL_SIGNING_KEY\) is not a private key in PEM form/,
    );
    const keyFile = path.join(workDir, 'corrupt', 'model-signing-dev.pem');
    await loadOrCreateModelSigningKey({ keyFile });
    await writeFile(keyFile, 'garbage');
    await expect(loadOrCreateModelSigningKey({ keyFile })).rejects.toThrow(
      `The development model-signing key file ${keyFile} is not a private key`,
    );
    await expect(loadOrCreateModelSigningKey({})).rejects.toThrow(/privateKeyPem .* or keyFile/);
  });
});
