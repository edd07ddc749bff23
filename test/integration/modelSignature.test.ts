/**
 * Signatures others can check: a version packaged by the lifecycle has `model.sig` (OpenSSF model
 * signing) beside its manifest, over the model directory of `modelDirectoryKeys`, with the key its
 * signed manifest pins; downloaded into a folder, the directory passes `model_signing verify key`
 * from PyPI, and a flipped byte in the ONNX file or the manifest fails it. The PyPI check is skipped,
 * saying why, where Python, pip or PyPI is missing.
 */
import { verify } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex, verifyArtifact } from '../../lifecycle/manifest';
import {
  IN_TOTO_PAYLOAD_TYPE,
  MODEL_SIGNATURE_FILE,
  type ModelSignatureBundle,
  type ModelSigningStatement,
  dssePae,
} from '../../lifecycle/modelSignature';
import { loadOrCreateModelSigningKey, type ModelSigningKey } from '../../lifecycle/modelSigningKey';
import { loadOrCreateSigningKey } from '../../lifecycle/signing';
import type { PipelineSpec } from '../../lifecycle/spec';
import { artifactKeys, modelDirectoryKeys } from '../../registry/artifactKeys';
import { type LifecycleHandle, waitForStage } from '../../workflows/client/lifecycleRuns';
import { testConfig } from '../helpers';
import { createLifecycleTestbed, type LifecycleTestbed } from '../lifecycleTestbed';
import { type ModelSigningVerifier, modelSigningVerifier } from '../modelSigningVerifier';

let bed: LifecycleTestbed;
let verifier: ModelSigningVerifier;
let spec: PipelineSpec;
let handle: LifecycleHandle | undefined;
let modelSigningKey: ModelSigningKey;
let workDir: string;
/** The version's model directory, downloaded as a person would, `model.sig` included. */
let modelDir: string;

beforeAll(async () => {
  // The venv (cached in .tools/ after the first run) installs while the shop data is generated.
  [bed, verifier] = await Promise.all([
    createLifecycleTestbed('model_signature', { jobs: 3000, seed: 5 }),
    modelSigningVerifier(testConfig().toolsDir),
  ]);
  spec = await bed.spec('cut-time.json', { trainer: { params: { iterations: 40 } } });
  const run = await bed.start(spec, { approvalDeadlineMs: 600_000 });
  handle = run;
  await waitForStage(run, 'awaiting-approval', { timeoutMs: 180_000 });
  // The worker's key: the testbed's configuration names the same development key file.
  modelSigningKey = await loadOrCreateModelSigningKey(bed.config.modelSigning);
  workDir = await mkdtemp(path.join(os.tmpdir(), 'kerf-model-signature-'));
  modelDir = path.join(workDir, `${spec.name}-v1`);
  await mkdir(modelDir);
  const keys = artifactKeys(spec.name, 1);
  for (const { name, key } of [
    ...modelDirectoryKeys(spec.name, 1, { forecastState: false }),
    { name: MODEL_SIGNATURE_FILE, key: keys.modelSignature },
  ]) {
    await writeFile(path.join(modelDir, name), await bed.store.get(key));
  }
}, 420_000);

afterAll(async () => {
  // The run waits for approval: a rejection ends it.
  if (handle) {
    await bed.signalDecision(handle, 'production-planner', 'reject', 'model signature test done');
    await handle.result().catch(() => undefined);
  }
  await bed.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('model.sig of a packaged version', () => {
  it('signs the model directory with the ECDSA key the trusted manifest pins', async () => {
    expect((await readdir(modelDir)).sort()).toEqual([
      'card.html',
      'manifest.json',
      'manifest.sig',
      'model.onnx',
      'model.sig',
    ]);
    const file = (name: string) => readFile(path.join(modelDir, name));
    const manifestJson = await file('manifest.json');
    // Kerf's own check of the downloaded folder: manifest, signature and ONNX file hold together.
    const { manifest } = verifyArtifact({
      manifestJson,
      signature: (await file('manifest.sig')).toString('utf8'),
      onnxBytes: await file('model.onnx'),
      trustedPublicKeys: [(await loadOrCreateSigningKey(bed.config.signing)).publicKeyPem],
    });
    expect(manifest.modelSigning).toEqual({
      signatureKey: `models/${spec.name}/v1/model.sig`,
      publicKeyPem: modelSigningKey.publicKeyPem,
    });

    const bundle = JSON.parse((await file('model.sig')).toString('utf8')) as ModelSignatureBundle;
    expect(bundle.verificationMaterial.publicKey.hint).toBe(modelSigningKey.hint);
    const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
    const signature = Buffer.from(bundle.dsseEnvelope.signatures[0].sig, 'base64');
    const publicKey = modelSigningKey.publicKeyPem;
    expect(verify('sha256', dssePae(IN_TOTO_PAYLOAD_TYPE, payload), publicKey, signature)).toBe(true);
    const statement = JSON.parse(payload.toString('utf8')) as ModelSigningStatement;
    expect(statement.subject[0].name).toBe(`${spec.name}-v1`);
    const signedNames = ['card.html', 'manifest.json', 'manifest.sig', 'model.onnx'];
    expect(statement.predicate.resources).toEqual(
      await Promise.all(
        signedNames.map(async (name) => ({ name, algorithm: 'sha256', digest: sha256Hex(await file(name)) })),
      ),
    );
  });

  it('passes `model_signing verify key` from PyPI, and fails it with a flipped byte', async (context) => {
    if (!verifier.available) {
      console.warn(`Skipped the model-signing verifier check: ${verifier.reason}`);
      context.skip(verifier.reason);
    }
    const publicKeyFile = modelSigningKey.publicKeyFile ?? '';
    const verifyDir = (dir: string) =>
      verifier.available
        ? verifier.verifyKey(dir, path.join(dir, MODEL_SIGNATURE_FILE), publicKeyFile)
        : Promise.reject(new Error('no verifier'));

    const untouched = await verifyDir(modelDir);
    expect(untouched, untouched.stderr).toMatchObject({ code: 0 });
    expect(untouched.stdout.trim()).toBe('Verification succeeded');

    for (const name of ['model.onnx', 'manifest.json']) {
      const tampered = path.join(workDir, `tampered-${name}`);
      await cp(modelDir, tampered, { recursive: true });
      const bytes = await readFile(path.join(tampered, name));
      const middle = Math.floor(bytes.length / 2);
      bytes[middle] = (bytes[middle] as number) ^ 0x01;
      await writeFile(path.join(tampered, name), bytes);
      const answer = await verifyDir(tampered);
      expect(answer.code, name).toBe(1);
      // Python's repr of the mismatch escapes the quotes when a digest holds one: match the parts.
      expect(answer.stderr).toContain('Verification failed with error: Signature mismatch');
      expect(answer.stderr).toMatch(new RegExp(`Hash mismatch for \\\\?'${name.replace('.', '\\.')}`));
    }
  });
});
