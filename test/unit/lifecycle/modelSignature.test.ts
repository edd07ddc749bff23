import { createHash, generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  IN_TOTO_PAYLOAD_TYPE,
  type ModelFile,
  type ModelSigningStatement,
  dssePae,
  modelSigningStatement,
  publicKeyHint,
  signModel,
} from '../../../lifecycle/modelSignature';
import { sha256Hex } from '../../../lifecycle/manifest';

const text = (value: string) => new TextEncoder().encode(value);

/** The files of the reference directory below, in the order a caller might list them. */
const referenceFiles: ModelFile[] = [
  { name: 'model.onnx', bytes: text('hello') },
  { name: 'manifest.json', bytes: text('{"a":1}') },
];

function p256Key() {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

/** The statement inside a bundle, decoded from its envelope's payload. */
function payloadOf(bundleJson: string): { payload: Buffer; statement: ModelSigningStatement } {
  const bundle = JSON.parse(bundleJson) as { dsseEnvelope: { payload: string } };
  const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
  return { payload, statement: JSON.parse(payload.toString('utf8')) as ModelSigningStatement };
}

describe('dssePae', () => {
  it("encodes as the DSSE v1 protocol's own example does", () => {
    // github.com/secure-systems-lab/dsse, protocol.md: PAE("http://example.com/HelloWorld", "hello world").
    expect(dssePae('http://example.com/HelloWorld', text('hello world')).toString('utf8')).toBe(
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
  });

  it('counts bytes, not characters (ø is two bytes in UTF-8)', () => {
    expect(dssePae('t', text('Blech 2 mm ø')).toString('utf8')).toBe('DSSEv1 1 t 13 Blech 2 mm ø');
  });
});

describe('modelSigningStatement', () => {
  it('lists every file by name with its SHA-256, under the digest model-signing 1.1.1 computes', () => {
    const statement = modelSigningStatement('m', referenceFiles);
    expect(statement).toEqual({
      _type: 'https://in-toto.io/Statement/v1',
      // `model_signing sign key` over a folder `m` with these two files wrote this subject digest.
      subject: [
        { name: 'm', digest: { sha256: '0a39ea4bfe311a8a07c5b0a8859504c00ca524321e42a926fd34c99490cfaed6' } },
      ],
      predicateType: 'https://model_signing/signature/v1.0',
      predicate: {
        serialization: {
          method: 'files',
          hash_type: 'sha256',
          allow_symlinks: false,
          ignore_paths: ['model.sig'],
        },
        resources: [
          { name: 'manifest.json', algorithm: 'sha256', digest: sha256Hex('{"a":1}') },
          {
            name: 'model.onnx',
            algorithm: 'sha256',
            digest: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
          },
        ],
      },
    });
    // The subject digest is SHA-256 over the listed digests' bytes, in the order listed.
    const root = createHash('sha256');
    for (const resource of statement.predicate.resources) root.update(Buffer.from(resource.digest, 'hex'));
    expect(statement.subject[0].digest.sha256).toBe(root.digest('hex'));
  });

  it('changes the file digest and the subject digest when one byte of a file changes', () => {
    const before = modelSigningStatement('m', referenceFiles);
    const after = modelSigningStatement('m', [
      { name: 'model.onnx', bytes: text('hellp') },
      { name: 'manifest.json', bytes: text('{"a":1}') },
    ]);
    expect(after.predicate.resources[0]).toEqual(before.predicate.resources[0]);
    expect(after.predicate.resources[1]?.digest).not.toBe(before.predicate.resources[1]?.digest);
    expect(after.subject[0].digest.sha256).not.toBe(before.subject[0].digest.sha256);
  });

  it('refuses what the flat directory cannot hold', () => {
    const one = (name: string) => [{ name, bytes: text('x') }];
    expect(() => modelSigningStatement('m', [])).toThrow(/at least one file/);
    expect(() => modelSigningStatement('m', one('model.sig'))).toThrow(/the signature itself/);
    for (const name of ['../model.onnx', 'v1/model.onnx', '.gitignore', '', 'card .html']) {
      expect(() => modelSigningStatement('m', one(name)), name).toThrow(/is not a plain file name/);
    }
    expect(() => modelSigningStatement('m', [...one('card.html'), ...one('card.html')])).toThrow(
      /lists card.html twice/,
    );
  });
});

describe('signModel', () => {
  it('writes a Sigstore bundle whose DSSE envelope verifies with the public key', () => {
    const { privateKey, publicKey } = p256Key();
    const signed = signModel({ modelName: 'cut-time-v3', files: referenceFiles }, { privateKey });
    const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const bundle = JSON.parse(signed.bundleJson) as typeof signed.bundle;
    expect(bundle).toEqual(signed.bundle);
    expect(bundle).toMatchObject({
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: { publicKey: { hint: publicKeyHint(publicKeyPem) }, tlogEntries: [] },
      dsseEnvelope: { payloadType: 'application/vnd.in-toto+json', signatures: [{ keyid: '' }] },
    });
    expect(bundle.verificationMaterial.publicKey.hint).toBe(
      createHash('sha256').update(publicKeyPem).digest('hex'),
    );

    const { payload, statement } = payloadOf(signed.bundleJson);
    expect(statement).toEqual(signed.statement);
    expect(statement.subject[0].name).toBe('cut-time-v3');
    const signature = Buffer.from(bundle.dsseEnvelope.signatures[0].sig, 'base64');
    // ECDSA in DER, over the PAE of the payload, with the digest of the key's curve.
    expect(verify('sha256', dssePae(IN_TOTO_PAYLOAD_TYPE, payload), publicKey, signature)).toBe(true);
    expect(verify('sha256', payload, publicKey, signature)).toBe(false);
    expect(verify('sha256', dssePae(IN_TOTO_PAYLOAD_TYPE, payload), p256Key().publicKey, signature)).toBe(
      false,
    );
  });

  it('signs the same statement every time, each time with a new ECDSA signature', () => {
    const { privateKey } = p256Key();
    const first = signModel({ modelName: 'm', files: referenceFiles }, { privateKey });
    const second = signModel({ modelName: 'm', files: [...referenceFiles].reverse() }, { privateKey });
    expect(payloadOf(second.bundleJson).payload).toEqual(payloadOf(first.bundleJson).payload);
    expect(second.bundle.dsseEnvelope.signatures[0].sig).not.toBe(
      first.bundle.dsseEnvelope.signatures[0].sig,
    );
  });

  it('uses the digest of the curve on P-384 and refuses keys model-signing cannot verify', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const signed = signModel({ modelName: 'm', files: referenceFiles }, { privateKey: p384.privateKey });
    const { payload } = payloadOf(signed.bundleJson);
    const signature = Buffer.from(signed.bundle.dsseEnvelope.signatures[0].sig, 'base64');
    expect(verify('sha384', dssePae(IN_TOTO_PAYLOAD_TYPE, payload), p384.publicKey, signature)).toBe(true);

    const files = referenceFiles;
    expect(() => signModel({ modelName: 'm', files }, generateKeyPairSync('ed25519'))).toThrow(
      'The model-signing key is a ed25519 key; model-signing verifies ECDSA keys on P-256, P-384 or P-521 only',
    );
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    expect(() => signModel({ modelName: 'm', files }, k1)).toThrow(/an EC key on secp256k1/);
  });
});
