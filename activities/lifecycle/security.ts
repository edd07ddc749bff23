/**
 * The security stage: the ONNX graph and the feature columns pass the security gate, then the
 * artifact gets its signed manifest (lineage, metrics, verdicts, SHA-256 of the ONNX bytes), its
 * model card and `model.sig` over them (OpenSSF model signing, for verifiers without Kerf), and the
 * registry records the version as a candidate for approval.
 */
import { createHash } from 'node:crypto';
import { gateRegistry } from '../../lifecycle/gates/registry';
import type { FairnessSlice } from '../../lifecycle/gates/fairness';
import { MANIFEST_FORMAT_VERSION, signManifest, type UnsignedManifest } from '../../lifecycle/manifest';
import { renderModelCard } from '../../lifecycle/modelCard';
import { appendAudit, recordEvaluation, setStatus, getVersion, signingKeyTrust } from '../../registry';
import type {
  EvaluationOutcome,
  FairnessOutcome,
  PackagedCandidate,
  StageInput,
  StoredCandidate,
  TuningRef,
} from '../../workflows/lifecycleTypes';
import type { ActivityDeps } from '../deps';
import { rejectForGate, stageVerdicts, type StoredPredictions } from './evaluate';
import { buildReferenceProfile } from '../../monitoring/reference';
import { splitLabelledRows } from '../../lifecycle/split';
import type { TaskMetrics } from '../../ml/slices';
import { stoppingOn, stopRun } from './errors';
import { specOf } from './runSpec';
import { loadStageTable } from './stageTable';
import { featureBuildOf } from './featureBuild';
import { describeHistoryFeature } from '../../lifecycle/features/history';
import { artifactKeys, modelDirectoryKeys } from '../../registry/artifactKeys';
import { type ModelFile, signModel } from '../../lifecycle/modelSignature';
import { runActor, runIdOf } from './register';
import { definitionTag, type ForecastState } from '../../lifecycle/forecast';
import { readMetadata } from '../../ml/onnx';
import { tuningCardOf } from '../../lifecycle/tuning/card';
import type { TuningRecord } from '../../lifecycle/tuning/plan';

/**
 * Signs only with a key an admin still trusts: the worker checked at start, but the key may have been
 * revoked since. A refusal is audited and stops the run; the version is marked failed, so a run with
 * a trusted key may make it again.
 */
async function refuseUntrustedSigningKey(
  pool: ActivityDeps['pool'],
  signingKey: ActivityDeps['signingKey'],
  model: string,
  version: number,
): Promise<void> {
  const trust = await signingKeyTrust(pool, signingKey.keyId);
  if (trust === 'trusted') return;
  const runId = runIdOf();
  await appendAudit(pool, {
    actor: runActor(runId),
    action: 'signing-refused',
    model,
    version,
    details: { keyId: signingKey.keyId, trust, runId },
  });
  throw stopRun(
    'RegistryError',
    `${model} v${version} was not signed: this worker's signing key ${signingKey.keyId} is ${trust === 'revoked' ? 'revoked' : 'not trusted'}; ` +
      'restart the workers with a key an admin trusted (`kerf keys trust FILE --name NAME`) and run again',
    { kind: 'untrusted-key' },
  );
}

/**
 * The files of the version's model directory (`modelDirectoryKeys`), byte for byte as this stage
 * stored them, under the names a downloaded folder gives them.
 */
function modelDirectoryFiles(
  model: string,
  version: number,
  stored: ReadonlyMap<string, Uint8Array | string>,
): ModelFile[] {
  const forecastState = stored.has(artifactKeys(model, version).forecastState);
  return modelDirectoryKeys(model, version, { forecastState }).map(({ name, key }) => {
    const bytes = stored.get(key);
    if (bytes === undefined) throw new Error(`${key} belongs in the model directory but was not stored`);
    return { name, bytes: typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes };
  });
}

export function createSecurityActivities({
  pool,
  objectStore,
  signingKey,
  modelSigningKey,
  codeVersion,
}: ActivityDeps) {
  /**
   * A forecast model's state as the manifest signs it: checked against the hash training recorded,
   * with the feature definition its rows were built by (serving refuses another).
   */
  const signedForecastState = async (stored: NonNullable<StoredCandidate['forecastState']>) => {
    const bytes = await objectStore.get(stored.key);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== stored.sha256) {
      throw new Error(
        `${stored.key} changed since training (SHA-256 ${sha256}, trained ${stored.sha256}); train again.`,
      );
    }
    const state = JSON.parse(Buffer.from(bytes).toString('utf8')) as ForecastState;
    return {
      bytes,
      manifest: { key: stored.key, sha256, featureDefinition: definitionTag(state.featureDefinition) },
    };
  };
  const tuningRecordOf = async (ref: TuningRef) => {
    const bytes = await objectStore.get(ref.key);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== ref.sha256) {
      throw stopRun(
        'TamperedArtifactError',
        `${ref.key} changed since the tune stage wrote it (SHA-256 ${sha256}, written ${ref.sha256}); run the lifecycle again.`,
        { reason: 'tuning-record-changed' },
      );
    }
    const record = JSON.parse(Buffer.from(bytes).toString('utf8')) as TuningRecord;
    return {
      manifest: {
        key: ref.key,
        sha256,
        metric: ref.metric,
        trials: ref.trials,
        trialsRun: ref.trialsRun,
        ...(ref.chosenTrial === undefined ? {} : { chosenTrial: ref.chosenTrial }),
        ...(ref.score === undefined ? {} : { score: ref.score }),
      },
      card: tuningCardOf(record),
    };
  };
  return {
    async packageCandidate(
      input: StageInput & {
        specHash: string;
        trained: StoredCandidate;
        evaluation: EvaluationOutcome;
        fairness: FairnessOutcome;
      },
    ): Promise<PackagedCandidate> {
      const spec = await specOf(objectStore, input);
      const { version, trained } = input;
      const onnx = await objectStore.get(trained.onnxKey);
      const sha256 = createHash('sha256').update(onnx).digest('hex');
      if (sha256 !== trained.onnxSha256) {
        throw new Error(
          `${trained.onnxKey} changed since training (SHA-256 ${sha256}, trained ${trained.onnxSha256}); train again.`,
        );
      }

      // Categorical features are judged on their values too (e-mail addresses, phone numbers).
      const loaded = await loadStageTable(objectStore, input);
      const features = spec.features.map((feature) =>
        feature.kind === 'categorical'
          ? { ...feature, sampleValues: loaded.table.categorical(feature.name).dictionary }
          : feature,
      );
      const gates = gateRegistry.runStage('security', { spec, onnx, features });
      if (gates.failed) await rejectForGate(pool, spec, version, gates.failed);

      const keys = artifactKeys(spec.name, version);
      // What monitoring compares the serving traffic with: the training rows' distributions, the
      // test predictions' distribution and the test performance (with a classifier's class balance
      // and calibration on the test rows); and the spec the version was made by.
      const predictions = await objectStore.getJson<StoredPredictions>(input.evaluation.predictionsKey);
      // A forecast is watched by scoring its forecasts on the periods that arrive, not by profiles.
      if (spec.task !== 'forecast') {
        const trainingRows = splitLabelledRows(loaded.table, spec.target, spec.split).train;
        const reference = buildReferenceProfile({
          table: loaded.table.take(trainingRows),
          spec,
          predictions: predictions.prediction,
          metrics: input.evaluation.metrics as unknown as TaskMetrics,
          classLabels: predictions.classLabels,
          testTargets: predictions.y,
        });
        await objectStore.put(keys.reference, JSON.stringify(reference), 'application/json');
      }
      const forecast = trained.forecastState && (await signedForecastState(trained.forecastState));
      // The tune stage's record of every trial, checked against the hash the train stage carried.
      const tuning = trained.tuning && (await tuningRecordOf(trained.tuning));
      // The derived and history features' definition, pinned for serving, and the built table they came from.
      const featureBuild = featureBuildOf(spec, loaded, input.features);
      await objectStore.put(keys.spec, JSON.stringify(spec, null, 2), 'application/json');
      const verdicts = [
        ...(input.evaluation.verdicts ?? [input.evaluation.verdict]),
        ...(input.fairness.verdicts ?? [input.fairness.verdict]),
        ...gates.verdicts,
      ];
      const unsigned: UnsignedManifest = {
        formatVersion: MANIFEST_FORMAT_VERSION,
        modelName: spec.name,
        version: String(version),
        task: spec.task,
        createdAt: new Date().toISOString(),
        codeVersion,
        specHash: input.specHash,
        snapshot: { hash: input.snapshot.sha256, rows: input.snapshot.rows },
        parameters: { trainer: spec.trainer.kind, ...(trained.tuning?.params ?? spec.trainer.params) },
        ...(tuning ? { tuning: tuning.manifest } : {}),
        metrics: input.evaluation.metrics,
        gates: verdicts,
        // A forecast's graph takes the rows its own features build, not the spec's series keys.
        features: (spec.task === 'forecast' ? readMetadata(onnx).features : spec.features).map((feature) => ({
          name: feature.name,
          kind: feature.kind,
        })),
        target: { name: spec.target },
        onnx: { key: trained.onnxKey, sha256, bytes: onnx.byteLength },
        ...(forecast ? { forecast: forecast.manifest } : {}),
        ...(featureBuild ? { featureBuild } : {}),
        modelSigning: { signatureKey: keys.modelSignature, publicKeyPem: modelSigningKey.publicKeyPem },
      };
      await refuseUntrustedSigningKey(pool, signingKey, spec.name, version);
      const signed = signManifest(unsigned, signingKey);
      await objectStore.put(keys.manifest, signed.manifestJson, 'application/json');
      await objectStore.put(keys.signature, signed.signature, 'text/plain');

      const slices = await objectStore.getJson<{ slices: FairnessSlice[] }>(input.fairness.slicesKey);
      const card = await renderModelCard({
        model: spec.name,
        version,
        description: spec.description,
        task: spec.task,
        target: spec.target,
        features: spec.features,
        snapshot: { key: input.snapshot.key, sha256: input.snapshot.sha256, rows: input.snapshot.rows },
        specHash: input.specHash,
        codeVersion,
        training: trained.summary,
        metrics: input.evaluation.metrics,
        champion: input.evaluation.champion,
        ...(input.evaluation.floor ? { floor: input.evaluation.floor } : {}),
        verdicts,
        slices: slices.slices,
        onnx: unsigned.onnx,
        manifest: { key: keys.manifest, keyId: signed.manifest.keyId },
        createdAt: unsigned.createdAt,
        testSet: { y: predictions.y, prediction: predictions.prediction },
        fairnessBound: spec.gates.fairness.maxErrorRatio,
        ...(tuning ? { tuning: tuning.card } : {}),
        ...(predictions.backtest ? { backtest: predictions.backtest } : {}),
        ...(featureBuild
          ? {
              builtFeatures: {
                derived: featureBuild.derived,
                ...(featureBuild.history
                  ? {
                      history: featureBuild.history.features.map((feature) => ({
                        name: feature.name,
                        definition: describeHistoryFeature(feature),
                      })),
                    }
                  : {}),
                definitionSha256: featureBuild.sha256,
                table: featureBuild.table,
              },
            }
          : {}),
      });
      await objectStore.put(keys.card, card, 'text/html; charset=utf-8');
      // Signed last, since it signs the manifest, its signature and the card: the model directory
      // others check without Kerf (`model_signing verify key`).
      const stored = new Map<string, Uint8Array | string>([
        [keys.onnx, onnx],
        [keys.manifest, signed.manifestJson],
        [keys.signature, signed.signature],
        [keys.card, card],
      ]);
      if (forecast) stored.set(keys.forecastState, forecast.bytes);
      const files = modelDirectoryFiles(spec.name, version, stored);
      const modelSignature = signModel({ modelName: `${spec.name}-v${version}`, files }, modelSigningKey);
      await objectStore.put(keys.modelSignature, modelSignature.bundleJson, 'application/json');

      await stoppingOn(async () => {
        await recordEvaluation(pool, spec.name, version, {
          metrics: input.evaluation.metrics,
          gateVerdicts: verdicts,
          artifacts: { onnxKey: trained.onnxKey, manifestKey: keys.manifest, cardKey: keys.card },
          actor: runActor(runIdOf()),
        });
        const current = await getVersion(pool, spec.name, version);
        if (current.status === 'training') {
          await setStatus(pool, {
            model: spec.name,
            version,
            status: 'candidate',
            actor: runActor(runIdOf()),
            reason: 'passed the quality, fairness and security gates; waiting for approval',
          });
        }
      });
      return {
        ...stageVerdicts(gates.verdicts),
        manifestKey: keys.manifest,
        signatureKey: keys.signature,
        cardKey: keys.card,
      };
    },
  };
}
