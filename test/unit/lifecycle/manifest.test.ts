import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareTrainingData } from '../../../ml/dataset';
import { trainGbdt } from '../../../ml/gbdt';
import { exportOnnx } from '../../../ml/onnx/export';
import { friedman1 } from '../../../ml/referenceDatasets';
import { evaluateSecurityGate } from '../../../lifecycle/gates/security';
import {
  MANIFEST_FORMAT_VERSION,
  TamperedArtifactError,
  type TamperReason,
  type UnsignedManifest,
  type VerifyArtifactInput,
  canonicalJson,
  sha256Hex,
  signManifest,
  verifyArtifact,
} from '../../../lifecycle/manifest';
import {
  type SigningKey,
  decodeBase64Strictly,
  keyIdOf,
  loadOrCreateSigningKey,
  sign,
  verify,
} from '../../../lifecycle/signing';

const SIGNING_MODULE = fileURLToPath(new URL('../../../lifecycle/signing.ts', import.meta.url));
const run = promisify(execFile);

let workDir: string;
beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'kerf-manifest-test-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/** A fresh key file path in a folder that does not exist yet. */
function keyFileIn(name: string): string {
  return path.join(workDir, name, 'keys', 'manifest-signing-dev.pem');
}

function pemKeyPair(type: 'ed25519' | 'rsa' = 'ed25519'): { privateKeyPem: string; publicKeyPem: string } {
  const pair =
    type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 1024 }) : generateKeyPairSync('ed25519');
  return {
    privateKeyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** Catches the TamperedArtifactError of a verification; fails the test when it passes or throws another error. */
function tamperReason(input: VerifyArtifactInput): TamperReason | 'verified' {
  try {
    verifyArtifact(input);
    return 'verified';
  } catch (error) {
    if (error instanceof TamperedArtifactError) return error.reason;
    throw error;
  }
}

/** The error `work` throws, or undefined when it does not throw. */
function catchError(work: () => unknown): unknown {
  try {
    work();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('canonicalJson', () => {
  it('sorts keys at every level, drops undefined properties and writes no whitespace', () => {
    expect(
      canonicalJson({ b: [{ d: 1, c: 'x' }, null, true], a: undefined, é: -0, A: 1.5e-7, '10': 1e21 }),
    ).toBe('{"10":1e+21,"A":1.5e-7,"b":[{"c":"x","d":1},null,true],"é":0}');
    expect(canonicalJson({ z: 1, a: { y: 2, b: 3 } })).toBe(canonicalJson({ a: { b: 3, y: 2 }, z: 1 }));
    expect(canonicalJson(0.1 + 0.2)).toBe('0.30000000000000004');
  });

  it('refuses what JSON cannot hold, naming the path', () => {
    expect(() => canonicalJson({ metrics: { r2: Number.NaN } })).toThrow('$.metrics.r2 is NaN');
    expect(() => canonicalJson({ bound: Number.POSITIVE_INFINITY })).toThrow('$.bound is Infinity');
    expect(() => canonicalJson({ list: [1, undefined] })).toThrow('$.list[1] is undefined');
    expect(() => canonicalJson({ at: new Date(0) })).toThrow('$.at is a Date');
    expect(() => canonicalJson({ big: 1n })).toThrow('$.big is a bigint');
  });
});

describe('signing keys', () => {
  it('creates a development key once, mode 0600 with its parent folders, and reuses it', async () => {
    const keyFile = keyFileIn('once');
    const first = await loadOrCreateSigningKey({ keyFile });
    expect(first).toMatchObject({
      created: true,
      source: 'key-file',
      keyFile,
      publicKeyFile: `${keyFile}.pub`,
    });
    expect(first.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(first.keyId).toBe(keyIdOf(first.publicKeyPem));
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(`${keyFile}.pub`, 'utf8')).toBe(first.publicKeyPem);
    const pem = await readFile(keyFile, 'utf8');

    const second = await loadOrCreateSigningKey({ keyFile });
    expect(second).toMatchObject({ created: false, keyId: first.keyId, publicKeyPem: first.publicKeyPem });
    expect(await readFile(keyFile, 'utf8')).toBe(pem);
    expect((await readdir(path.dirname(keyFile))).sort()).toEqual([
      'manifest-signing-dev.pem',
      'manifest-signing-dev.pem.pub',
    ]);
  });

  it('gives one key to concurrent callers in one process', async () => {
    const keyFile = keyFileIn('concurrent');
    const keys = await Promise.all(Array.from({ length: 12 }, () => loadOrCreateSigningKey({ keyFile })));
    expect(new Set(keys.map((key) => key.keyId)).size).toBe(1);
    expect(keys.filter((key) => key.created)).toHaveLength(1);
    expect((await readdir(path.dirname(keyFile))).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('gives one key to processes racing to create it', async () => {
    const keyFile = keyFileIn('processes');
    const script = `
      import { loadOrCreateSigningKey } from ${JSON.stringify(SIGNING_MODULE)};
      const key = await loadOrCreateSigningKey({ keyFile: process.argv[1] });
      console.log(JSON.stringify({ keyId: key.keyId, created: key.created }));
    `;
    const outputs = await Promise.all(
      Array.from({ length: 4 }, () =>
        run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, keyFile]),
      ),
    );
    const results = outputs.map(({ stdout }) => JSON.parse(stdout) as { keyId: string; created: boolean });
    expect(new Set(results.map((result) => result.keyId)).size).toBe(1);
    expect(results.filter((result) => result.created).length).toBeLessThanOrEqual(1);
    expect((await loadOrCreateSigningKey({ keyFile })).keyId).toBe(results[0]?.keyId);
  });

  it('takes the configured PEM over the key file and writes nothing', async () => {
    const { privateKeyPem, publicKeyPem } = pemKeyPair();
    const keyFile = keyFileIn('configured');
    const key = await loadOrCreateSigningKey({ privateKeyPem, keyFile });
    expect(key).toMatchObject({
      created: false,
      source: 'configuration',
      publicKeyPem,
      keyId: keyIdOf(publicKeyPem),
    });
    await expect(stat(path.dirname(keyFile))).rejects.toThrow(/ENOENT/);
  });

  it('refuses keys that are not Ed25519 private keys, naming where they came from', async () => {
    await expect(loadOrCreateSigningKey({ privateKeyPem: pemKeyPair('rsa').privateKeyPem })).rejects.toThrow(
      /privateKeyPem\) is a rsa key, not Ed25519/,
    );
    await expect(loadOrCreateSigningKey({ privateKeyPem: 'not a pem' })).rejects.toThrow(/privateKeyPem/);
    const keyFile = keyFileIn('corrupt');
    await loadOrCreateSigningKey({ keyFile });
    await writeFile(keyFile, 'garbage');
    await expect(loadOrCreateSigningKey({ keyFile })).rejects.toThrow(
      `key file ${keyFile} is not a private key`,
    );
    await expect(loadOrCreateSigningKey({})).rejects.toThrow(/privateKeyPem .* or keyFile/);
  });

  it('signs and verifies bytes; another key, other bytes or non-canonical base64 do not verify', async () => {
    const key = await loadOrCreateSigningKey({ keyFile: keyFileIn('sign') });
    const bytes = new TextEncoder().encode('cut time 42 s');
    const signature = sign(bytes, key);
    expect(decodeBase64Strictly(signature)).toHaveLength(64);
    expect(verify(bytes, signature, key.publicKeyPem)).toBe(true);
    expect(verify(new TextEncoder().encode('cut time 43 s'), signature, key.publicKeyPem)).toBe(false);
    expect(verify(bytes, signature, pemKeyPair().publicKeyPem)).toBe(false);
    // The last character of a 64-byte signature carries 4 unused bits: lenient base64 would ignore them.
    const last = signature.at(-3) as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1] as string;
    const padded = `${signature.slice(0, -3)}${sibling}==`;
    expect(Buffer.from(padded, 'base64')).toEqual(Buffer.from(signature, 'base64'));
    expect(verify(bytes, padded, key.publicKeyPem)).toBe(false);
    expect(verify(bytes, `${signature}\n`, key.publicKeyPem)).toBe(false);
    expect(() => verify(bytes, signature, pemKeyPair('rsa').publicKeyPem)).toThrow(/rsa key/);
  });
});

describe('signed manifests', () => {
  let key: SigningKey;
  let onnxBytes: Uint8Array;
  let unsigned: UnsignedManifest;

  beforeAll(async () => {
    key = await loadOrCreateSigningKey({ keyFile: keyFileIn('manifest') });
    const data = friedman1(300, 3);
    const training = prepareTrainingData(data.train, {
      target: data.target,
      features: data.features,
      task: 'regression',
    });
    const model = trainGbdt(training, { iterations: 5, maxLeaves: 4 });
    onnxBytes = exportOnnx(model);
    const features = model.features.map((feature) => ({ name: feature.name, kind: feature.kind }));
    const security = evaluateSecurityGate({ onnx: onnxBytes, features, gate: { maxModelBytes: 1_000_000 } });
    unsigned = {
      formatVersion: MANIFEST_FORMAT_VERSION,
      modelName: 'friedman1',
      version: 'v-0001',
      task: 'regression',
      createdAt: '2025-03-01T02:00:00.000Z',
      codeVersion: '0.1.0',
      specHash: sha256Hex('spec'),
      snapshot: { hash: sha256Hex('snapshot'), rows: 300 },
      parameters: { type: 'gbdt', iterations: 5, maxLeaves: 4 },
      metrics: { rmse: 2.5, r2: 0.71 },
      gates: [security],
      features,
      target: { name: 'y' },
      onnx: {
        key: 'models/friedman1/v-0001.onnx',
        sha256: sha256Hex(onnxBytes),
        bytes: onnxBytes.byteLength,
      },
    };
  });

  function signed(): { manifestJson: string; signature: string; input: VerifyArtifactInput } {
    const { manifestJson, signature } = signManifest(unsigned, key);
    return {
      manifestJson,
      signature,
      input: { manifestJson, signature, onnxBytes, trustedPublicKeys: [key.publicKeyPem] },
    };
  }

  it('round-trips: the signed manifest verifies and carries the key and lineage', () => {
    const { manifestJson, signature, input } = signed();
    const result = signManifest(unsigned, key);
    expect(result.manifestJson).toBe(manifestJson);
    expect(result.manifest).toMatchObject({ ...unsigned, keyId: key.keyId, publicKeyPem: key.publicKeyPem });
    expect(manifestJson).toBe(canonicalJson(result.manifest));
    expect(verify(new TextEncoder().encode(manifestJson), signature, key.publicKeyPem)).toBe(true);
    const verified = verifyArtifact(input);
    expect(verified.keyId).toBe(key.keyId);
    expect(verified.manifest).toEqual(result.manifest);
    // Stored as bytes, read back as bytes: the same.
    expect(verifyArtifact({ ...input, manifestJson: new TextEncoder().encode(manifestJson) }).keyId).toBe(
      key.keyId,
    );
    // Among several trusted keys.
    expect(
      verifyArtifact({ ...input, trustedPublicKeys: [pemKeyPair().publicKeyPem, key.publicKeyPem] }).keyId,
    ).toBe(key.keyId);
  });

  it('pins the model-signing key when given (`modelSigning`); manifests without it stay valid', () => {
    const publicKeyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    const modelSigning = { signatureKey: 'models/friedman1/v-0001/model.sig', publicKeyPem };
    const pinned = signManifest({ ...unsigned, modelSigning }, key);
    const verified = verifyArtifact({ ...signed().input, ...pinned });
    expect(verified.manifest.modelSigning).toEqual(modelSigning);
    expect(verifyArtifact(signed().input).manifest.modelSigning).toBeUndefined();
    expect(() =>
      signManifest({ ...unsigned, modelSigning: { ...modelSigning, signatureKey: '' } }, key),
    ).toThrow(/modelSigning\.signatureKey: must not be empty/);
  });

  it('refuses to sign an invalid manifest, naming the field', () => {
    expect(() => signManifest({ ...unsigned, onnx: { ...unsigned.onnx, sha256: 'abc' } }, key)).toThrow(
      /onnx\.sha256: must be a SHA-256 digest/,
    );
    expect(() => signManifest({ ...unsigned, metrics: { rmse: Number.NaN } }, key)).toThrow(/metrics\.rmse/);
  });

  it('detects any single flipped byte of the ONNX file', () => {
    const { input } = signed();
    for (let index = 0; index < onnxBytes.length; index++) {
      const tampered = Uint8Array.from(onnxBytes);
      tampered[index] = (tampered[index] as number) ^ (1 << (index % 8));
      expect(tamperReason({ ...input, onnxBytes: tampered }), `byte ${index}`).toBe('onnx-hash-mismatch');
    }
    expect(tamperReason({ ...input, onnxBytes: onnxBytes.slice(0, -1) })).toBe('onnx-hash-mismatch');
    const appended = new Uint8Array(onnxBytes.length + 1);
    appended.set(onnxBytes);
    expect(tamperReason({ ...input, onnxBytes: appended })).toBe('onnx-hash-mismatch');
  });

  it('detects any single flipped byte of the manifest', () => {
    const { manifestJson, input } = signed();
    const bytes = new TextEncoder().encode(manifestJson);
    const reasons = new Set<string>();
    for (let index = 0; index < bytes.length; index++) {
      const tampered = Uint8Array.from(bytes);
      tampered[index] = (tampered[index] as number) ^ (1 << (index % 8));
      const reason = tamperReason({ ...input, manifestJson: tampered });
      expect(reason, `byte ${index}`).not.toBe('verified');
      reasons.add(reason);
    }
    // Flips land in the JSON syntax, in the key id and everywhere else (covered by the signature).
    expect([...reasons].sort()).toEqual(['manifest-malformed', 'signature-invalid', 'unknown-key']);
    // Every bit of the key id, where a flip must not pass as another trusted key.
    const keyIdStart = manifestJson.indexOf(key.keyId);
    for (let index = keyIdStart; index < keyIdStart + key.keyId.length; index++) {
      for (let bit = 0; bit < 8; bit++) {
        const tampered = Uint8Array.from(bytes);
        tampered[index] = (tampered[index] as number) ^ (1 << bit);
        expect(tamperReason({ ...input, manifestJson: tampered }), `byte ${index} bit ${bit}`).not.toBe(
          'verified',
        );
      }
    }
  });

  it('detects any single flipped bit of the signature', () => {
    const { signature, input } = signed();
    const bytes = new TextEncoder().encode(signature);
    for (let index = 0; index < bytes.length; index++) {
      for (let bit = 0; bit < 8; bit++) {
        const tampered = Uint8Array.from(bytes);
        tampered[index] = (tampered[index] as number) ^ (1 << bit);
        const text = new TextDecoder().decode(tampered);
        expect(tamperReason({ ...input, signature: text }), `char ${index} bit ${bit}`).toBe(
          'signature-invalid',
        );
      }
    }
  });

  it('says exactly what failed', () => {
    const { manifestJson, signature, input } = signed();
    const manifest = JSON.parse(manifestJson) as Record<string, unknown>;

    // The signature covers the stored bytes: even the same content re-indented is refused.
    expect(tamperReason({ ...input, manifestJson: JSON.stringify(manifest, null, 2) })).toBe(
      'signature-invalid',
    );

    // A better metric written into the manifest: the signature no longer matches.
    const edited = canonicalJson({ ...manifest, metrics: { rmse: 0.1, r2: 0.99 } });
    expect(tamperReason({ ...input, manifestJson: edited })).toBe('signature-invalid');

    // Another ONNX file swapped in with its own (correct) hash: it is not what was signed.
    const other = signManifest(
      { ...unsigned, onnx: { ...unsigned.onnx, bytes: 1, sha256: sha256Hex('x') } },
      key,
    );
    expect(tamperReason({ ...input, manifestJson: other.manifestJson, signature: other.signature })).toBe(
      'onnx-hash-mismatch',
    );

    // Signed by a key this deployment does not trust, or by an attacker who claims the trusted key's id.
    const attacker = pemKeyPair();
    const attackerKey = {
      privateKey: generateKeyPairSync('ed25519').privateKey,
      publicKeyPem: attacker.publicKeyPem,
      keyId: keyIdOf(attacker.publicKeyPem),
      created: false,
      source: 'configuration' as const,
    };
    const foreign = signManifest(unsigned, attackerKey);
    expect(tamperReason({ ...input, manifestJson: foreign.manifestJson, signature: foreign.signature })).toBe(
      'unknown-key',
    );
    const spoofed = canonicalJson({ ...manifest, publicKeyPem: attacker.publicKeyPem });
    const spoofedSignature = sign(new TextEncoder().encode(spoofed), attackerKey);
    expect(tamperReason({ ...input, manifestJson: spoofed, signature: spoofedSignature })).toBe(
      'signature-invalid',
    );

    // Not JSON, not UTF-8, or validly signed but not a manifest this version understands.
    expect(tamperReason({ ...input, manifestJson: 'not json' })).toBe('manifest-malformed');
    expect(tamperReason({ ...input, manifestJson: Uint8Array.from([0xff, 0xfe]) })).toBe(
      'manifest-malformed',
    );
    const future = canonicalJson({ ...manifest, formatVersion: 2 });
    expect(
      tamperReason({
        ...input,
        manifestJson: future,
        signature: sign(new TextEncoder().encode(future), key),
      }),
    ).toBe('manifest-malformed');

    const error = (() => {
      try {
        verifyArtifact({ ...input, manifestJson: edited });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(TamperedArtifactError);
    expect(error).toMatchObject({ name: 'TamperedArtifactError', reason: 'signature-invalid' });
    expect((error as Error).message).toContain(
      'model friedman1 version v-0001 (models/friedman1/v-0001.onnx)',
    );
    expect(signature).not.toBe('');
  });

  it('treats a broken trusted key as a configuration error, not tampering', () => {
    const { input } = signed();
    expect(() => verifyArtifact({ ...input, trustedPublicKeys: ['nope'] })).toThrow(/trustedPublicKeys\[0\]/);
  });

  it('refuses every artifact when no key is trusted (all revoked), naming the key', () => {
    const { input } = signed();
    const error = catchError(() => verifyArtifact({ ...input, trustedPublicKeys: [] }));
    expect(error).toBeInstanceOf(TamperedArtifactError);
    expect((error as TamperedArtifactError).reason).toBe('unknown-key');
    expect((error as Error).message).toMatch(/is not trusted here \(trusted: none\)/);
  });

  it('says a revoked key was revoked', () => {
    const { input } = signed();
    const keyId = (JSON.parse(String(input.manifestJson)) as { keyId: string }).keyId;
    const error = catchError(() =>
      verifyArtifact({
        ...input,
        trustedPublicKeys: [],
        revokedKeys: new Map([[keyId, 'revoked by alice at 2026-12-05T10:00:00.000Z']]),
      }),
    );
    expect((error as TamperedArtifactError).reason).toBe('unknown-key');
    expect((error as Error).message).toContain(`signed by key ${keyId}, which was revoked by alice`);
  });
});
