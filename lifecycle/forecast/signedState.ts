/**
 * A forecast version's state as its signed manifest vouches for it: the bytes must hash to the
 * SHA-256 the manifest signed, and the features its rows were built with must be the ones this code
 * builds. Serving and the nightly check read the state only through here, so a swapped state file,
 * or a server whose feature code has changed since training, forecasts nothing.
 */
import { type ModelManifest, sha256Hex, TamperedArtifactError } from '../manifest';
import { featureDefinition, type FeatureDefinition } from './features';
import type { ForecastState } from './state';

/** How the manifest writes a feature definition: `forecast-features/1#0123456789abcdef`. */
export function definitionTag(definition: FeatureDefinition): string {
  return `${definition.version}#${definition.hash}`;
}

/**
 * Checks a forecast state's bytes against the manifest's entry and this code's features.
 *
 * @throws TamperedArtifactError `forecast-state-mismatch` when the bytes are not the signed ones,
 *   `feature-definition-mismatch` when the state was built with other features than this code builds
 */
export function verifyForecastState(
  bytes: Uint8Array,
  signed: NonNullable<ModelManifest['forecast']>,
  label: string,
): ForecastState {
  const sha256 = sha256Hex(bytes);
  if (sha256 !== signed.sha256) {
    throw new TamperedArtifactError(
      'forecast-state-mismatch',
      `the forecast state of ${label} (${signed.key}) has SHA-256 ${sha256}, not the ${signed.sha256} its manifest signed: it was changed after signing, do not forecast from it`,
    );
  }
  const state = JSON.parse(Buffer.from(bytes).toString('utf8')) as ForecastState;
  const built = definitionTag(state.featureDefinition);
  const ours = definitionTag(featureDefinition(state.settings));
  if (built !== signed.featureDefinition || built !== ours) {
    throw new TamperedArtifactError(
      'feature-definition-mismatch',
      `${label} was trained with the forecast features ${signed.featureDefinition}, and this code builds ${ours}: ` +
        'serve it with the Kerf version that trained it, or retrain it with this one',
    );
  }
  return state;
}
