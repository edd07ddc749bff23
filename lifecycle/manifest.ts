/**
 * The signed manifest of a model artifact: its lineage (data snapshot, spec, code version, parameters),
 * what it was judged on (metrics, gate verdicts), its input contract and the SHA-256 of its ONNX
 * bytes, signed with Ed25519 over the manifest's canonical JSON. Deploy and serving call
 * {@link verifyArtifact} before they load a model: a changed byte anywhere is refused.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { TASKS } from './spec/parts';
import { gateRegistry } from './gates/registry';
import type { GateVerdict } from './gates/verdict';
import { type SigningKey, keyIdOf, parsePublicKey, sign, verify } from './signing';

/** Bumped when the manifest's fields change meaning; verifiers refuse versions they do not know. */
export const MANIFEST_FORMAT_VERSION = 1;

const sha256Digest = z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 digest: 64 lower-case hex digits');
const nonEmpty = z.string().min(1, 'must not be empty');

const gateCheckSchema = z.strictObject({
  name: nonEmpty,
  passed: z.boolean(),
  judged: z.boolean(),
  value: z.number().optional(),
  bound: z.number().optional(),
  message: z.string(),
});

const gateVerdictSchema = z.strictObject({
  // Any registered gate (as z.enum would word it), typed as a plain name like GateVerdict's.
  gate: z.string().refine((name) => (gateRegistry.names as readonly string[]).includes(name), {
    message: `Invalid option: expected one of ${gateRegistry.names.map((name) => `"${name}"`).join('|')}`,
  }),
  passed: z.boolean(),
  checks: z.array(gateCheckSchema),
}) satisfies z.ZodType<GateVerdict>;

/** The manifest as stored next to the ONNX file. Numbers must be finite: JSON has no NaN. */
/** A history feature's definition in numbers (`HistoryDefinition`), as a manifest pins it. */
const historyDefinitionSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('lag'), lag: z.int().positive(), gapMs: z.number().nonnegative() }),
  z.strictObject({
    kind: z.literal('rolling'),
    stat: z.enum(['mean', 'sum', 'count', 'min', 'max']),
    window: z.discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('time'), ms: z.number().positive() }),
      z.strictObject({ kind: z.literal('events'), count: z.int().positive() }),
    ]),
    gapMs: z.number().nonnegative(),
  }),
  z.strictObject({
    kind: z.literal('since'),
    unitMs: z.number().positive(),
    gapMs: z.number().nonnegative(),
  }),
]);

export const modelManifestSchema = z.strictObject({
  formatVersion: z.literal(MANIFEST_FORMAT_VERSION),
  /** The pipeline's name (the spec's `name`). */
  modelName: nonEmpty,
  /** The model version, content-addressed from spec and snapshot. */
  version: nonEmpty,
  task: z.enum(TASKS),
  /** When the artifact was signed, ISO 8601 in UTC (`2025-03-01T02:00:00.000Z`). */
  createdAt: z.iso.datetime({
    message: 'must be an ISO 8601 date-time in UTC, such as 2025-03-01T02:00:00Z',
  }),
  /** The Kerf code that trained and exported the model (version or commit). */
  codeVersion: nonEmpty,
  /** SHA-256 of the canonical JSON of the parsed pipeline spec. */
  specHash: sha256Digest,
  /** The data snapshot the model was trained and evaluated on. */
  snapshot: z.strictObject({ hash: sha256Digest, rows: z.int().nonnegative() }),
  /** Trainer type and parameters as used (the tune stage's choice when the spec tunes). */
  parameters: z.record(z.string(), z.json()),
  /**
   * The tune stage's search the parameters came from: its record of every trial (object key and
   * SHA-256), the metric the trials were ranked by, and the winner. Absent without tuning.
   */
  tuning: z
    .strictObject({
      key: nonEmpty,
      sha256: sha256Digest,
      metric: nonEmpty,
      trials: z.int().positive(),
      trialsRun: z.int().nonnegative(),
      chosenTrial: z.int().nonnegative().optional(),
      score: z.number().optional(),
    })
    .optional(),
  /** Test-set metrics by name (`rmse`, `auc`...). */
  metrics: z.record(z.string(), z.number()),
  /** The verdict of every gate the candidate went through. */
  gates: z.array(gateVerdictSchema),
  /** The raw input columns the ONNX graph takes, in order. */
  features: z
    .array(z.strictObject({ name: nonEmpty, kind: z.enum(['numeric', 'categorical']) }))
    .min(1, 'must list at least one feature'),
  /** What the model predicts. */
  target: z.strictObject({ name: nonEmpty, classLabels: z.array(z.string()).optional() }),
  /** The artifact: its object key, SHA-256 and size. */
  onnx: z.strictObject({ key: nonEmpty, sha256: sha256Digest, bytes: z.int().positive() }),
  /**
   * A forecast model's state (its series, their recent values, the interval widths): its object
   * key, SHA-256, and the feature definition its rows were built with, which serving must share.
   */
  forecast: z.strictObject({ key: nonEmpty, sha256: sha256Digest, featureDefinition: nonEmpty }).optional(),
  /**
   * The derived features the model takes (`lifecycle/features/build.ts`): the build code's version,
   * the definitions and the types of the source columns they read, the SHA-256 of the canonical JSON
   * of those three (what serving recomputes before it loads the version), and the built table the
   * model was trained and evaluated on. Absent for a model without derived features.
   */
  featureBuild: z
    .strictObject({
      version: nonEmpty,
      sha256: sha256Digest,
      derived: z.array(z.strictObject({ name: nonEmpty, expression: nonEmpty })),
      inputs: z.array(
        z.strictObject({ name: nonEmpty, type: z.enum(['number', 'boolean', 'category', 'time']) }),
      ),
      /** The history features (`FeatureBuildHistory`): serving reads them from the built table's rows. */
      history: z
        .strictObject({
          timeColumn: nonEmpty,
          target: nonEmpty,
          features: z
            .array(
              z.strictObject({
                name: nonEmpty,
                of: nonEmpty.optional(),
                by: z.array(nonEmpty).min(1),
                definition: historyDefinitionSchema,
              }),
            )
            .min(1),
        })
        .optional(),
      table: z.strictObject({ key: nonEmpty, hash: sha256Digest, rows: z.int().nonnegative() }),
    })
    .refine((build) => build.derived.length > 0 || build.history !== undefined, {
      message: 'must build at least one derived or history feature',
    })
    .optional(),
  /**
   * The model's OpenSSF model-signing signature (`lifecycle/modelSignature.ts`): where it is stored
   * and the public half of its ECDSA key. It signs this manifest among the model directory's files,
   * so the manifest pins the key, not the signature's bytes; a manifest Kerf trusts thereby vouches
   * for the key others verify `model.sig` with. Absent in manifests written before `model.sig`.
   */
  modelSigning: z.strictObject({ signatureKey: nonEmpty, publicKeyPem: nonEmpty }).optional(),
  /** The signing key's id (see `keyIdOf`). */
  keyId: z.string().regex(/^[0-9a-f]{16}$/, 'must be a key id: 16 lower-case hex digits'),
  /** The signing key's public half, for people; verification only trusts configured keys. */
  publicKeyPem: z.string().optional(),
});

export type ModelManifest = z.output<typeof modelManifestSchema>;

/** A manifest before signing: the key fields are filled in by {@link signManifest}. */
export type UnsignedManifest = Omit<ModelManifest, 'keyId' | 'publicKeyPem'>;

/** A signed manifest: store `manifestJson` and `signature` byte for byte next to the ONNX file. */
export interface SignedManifest {
  manifest: ModelManifest;
  /** The canonical JSON that was signed. */
  manifestJson: string;
  /** Ed25519 signature of the UTF-8 bytes of `manifestJson`, base64. */
  signature: string;
}

/** Why an artifact was refused. */
export type TamperReason =
  | 'manifest-malformed'
  | 'unknown-key'
  | 'signature-invalid'
  | 'onnx-hash-mismatch'
  | 'spec-hash-mismatch'
  | 'forecast-state-mismatch'
  | 'feature-definition-mismatch'
  | 'feature-build-mismatch';

/**
 * An artifact whose manifest, signature or ONNX bytes do not hold together. Never load such a model.
 * Activities turn it into a non-retryable `ApplicationFailure` of type `TamperedArtifactError`.
 */
export class TamperedArtifactError extends Error {
  override readonly name = 'TamperedArtifactError';

  constructor(
    /** What failed. */
    readonly reason: TamperReason,
    message: string,
  ) {
    super(message);
  }
}

/** Input of {@link verifyArtifact}: the three stored objects and the keys this deployment trusts. */
export interface VerifyArtifactInput {
  /** The manifest exactly as stored (text or its UTF-8 bytes). */
  manifestJson: string | Uint8Array;
  /** The stored signature, base64. */
  signature: string;
  /** The ONNX file as read from storage. */
  onnxBytes: Uint8Array;
  /** Ed25519 public keys (PEM) whose signatures are accepted; none trusted refuses every artifact. */
  trustedPublicKeys: readonly string[];
  /** Revoked key ids with a short description, so a refusal can say the key was revoked. */
  revokedKeys?: ReadonlyMap<string, string>;
}

/** A verified artifact: its manifest and the id of the key that signed it. */
export interface VerifiedArtifact {
  manifest: ModelManifest;
  keyId: string;
}

/** SHA-256 of bytes or text (UTF-8), lower-case hex. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * JSON with object keys sorted (by UTF-16 code units) at every level and no whitespace; numbers in
 * JavaScript's shortest round-trip form, so equal values always give equal text (as in RFC 8785).
 * Stricter than JSON.stringify, because a signed document must mean exactly what it says: NaN,
 * Infinity, undefined array items, bigints, functions and class instances (Date, Map, typed arrays)
 * throw instead of turning into null or {}; undefined object properties are left out.
 *
 * @throws naming the path (`$.metrics.r2`) of the first value JSON cannot hold
 */
export function canonicalJson(value: unknown): string {
  return writeCanonical(value, '$');
}

function writeCanonical(value: unknown, at: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) {
        throw new Error(`${at} is ${value}, which JSON cannot hold: leave it out or store null`);
      }
      // JSON.stringify writes -0 as 0 and every other number in its shortest round-trip form.
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((item, index) => writeCanonical(item, `${at}[${index}]`)).join(',')}]`;
      }
      const prototype: unknown = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) {
        throw new Error(
          `${at} is a ${value.constructor.name}, not a plain object: convert it (a Date to an ISO string, a Map to an object)`,
        );
      }
      const record = value as Record<string, unknown>;
      const members = Object.keys(record)
        .sort()
        .filter((key) => record[key] !== undefined)
        .map((key) => `${JSON.stringify(key)}:${writeCanonical(record[key], `${at}.${key}`)}`);
      return `{${members.join(',')}}`;
    }
    default:
      throw new Error(
        `${at} is ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}, which JSON cannot hold`,
      );
  }
}

/**
 * Fills in the key fields, validates the manifest and signs its canonical JSON.
 *
 * @throws when the manifest is invalid, naming each field (`onnx.sha256: must be a SHA-256 digest...`)
 */
export function signManifest(manifest: UnsignedManifest, key: SigningKey): SignedManifest {
  const parsed = modelManifestSchema.safeParse({
    ...manifest,
    keyId: key.keyId,
    publicKeyPem: key.publicKeyPem,
  });
  if (!parsed.success) throw new Error(`The model manifest is invalid: ${describeIssues(parsed.error)}`);
  const manifestJson = canonicalJson(parsed.data);
  return { manifest: parsed.data, manifestJson, signature: sign(utf8.encode(manifestJson), key) };
}

/**
 * Checks an artifact before it is loaded: the manifest is signed by a trusted key, the signature
 * covers the manifest byte for byte, the manifest is one this version understands, and the ONNX bytes
 * have the SHA-256 and size it records. The manifest's own `publicKeyPem` is never trusted.
 *
 * @returns the verified manifest
 * @throws {TamperedArtifactError} saying exactly what failed
 * @throws Error when a trusted key is not an Ed25519 public key (a configuration error)
 */
export function verifyArtifact(input: VerifyArtifactInput): VerifiedArtifact {
  const trusted = input.trustedPublicKeys.map((pem, index) => {
    const publicKey = parsePublicKey(pem, `trustedPublicKeys[${index}]`);
    return { publicKey, keyId: keyIdOf(publicKey) };
  });
  const bytes = typeof input.manifestJson === 'string' ? utf8.encode(input.manifestJson) : input.manifestJson;
  const raw = parseJson(bytes);
  const keyId = isRecord(raw) ? raw.keyId : undefined;
  if (typeof keyId !== 'string') {
    throw new TamperedArtifactError(
      'manifest-malformed',
      'The model manifest names no signing key (keyId): do not load this artifact.',
    );
  }
  const key = trusted.find((candidate) => candidate.keyId === keyId);
  const revoked = input.revokedKeys?.get(keyId);
  if (!key && revoked !== undefined) {
    throw new TamperedArtifactError(
      'unknown-key',
      `The model manifest of ${describeArtifact(raw)} is signed by key ${keyId}, which was ${revoked}: nothing it signed is trusted any more; retrain or re-sign with a trusted key, do not load this artifact.`,
    );
  }
  if (!key) {
    throw new TamperedArtifactError(
      'unknown-key',
      `The model manifest of ${describeArtifact(raw)} is signed by key ${keyId}, which is not trusted here (trusted: ${trusted.map((candidate) => candidate.keyId).join(', ') || 'none'}); if that key is yours, an admin trusts its public half (\`kerf keys trust FILE --name NAME\`), otherwise do not load this artifact.`,
    );
  }
  if (!verify(bytes, input.signature, key.publicKey)) {
    throw new TamperedArtifactError(
      'signature-invalid',
      `The signature of the model manifest of ${describeArtifact(raw)} does not match it under key ${keyId}: the manifest or its signature was changed after signing; do not load this artifact.`,
    );
  }
  const parsed = modelManifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new TamperedArtifactError(
      'manifest-malformed',
      `The signed model manifest of ${describeArtifact(raw)} is not one this version of Kerf understands: ${describeIssues(parsed.error)}.`,
    );
  }
  const manifest = parsed.data;
  const actual = sha256Hex(input.onnxBytes);
  if (actual !== manifest.onnx.sha256 || input.onnxBytes.byteLength !== manifest.onnx.bytes) {
    throw new TamperedArtifactError(
      'onnx-hash-mismatch',
      `The ONNX file of ${describeArtifact(raw)} (${input.onnxBytes.byteLength} bytes, SHA-256 ${actual}) is not the one the manifest signs (${manifest.onnx.bytes} bytes, SHA-256 ${manifest.onnx.sha256}): it was changed or swapped; do not load it.`,
    );
  }
  return { manifest, keyId };
}

const utf8 = new TextEncoder();

function parseJson(bytes: Uint8Array): unknown {
  try {
    // fatal: a flipped byte that breaks UTF-8 must not be papered over with U+FFFD.
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new TamperedArtifactError(
      'manifest-malformed',
      `The model manifest is not UTF-8 JSON (${error instanceof Error ? error.message : String(error)}): do not load this artifact.`,
    );
  }
}

/** `model steel-energy version 3f2a... (models/steel-energy/3f2a.onnx)` from whatever the manifest holds. */
function describeArtifact(raw: unknown): string {
  if (!isRecord(raw)) return 'the artifact';
  const text = (value: unknown) => (typeof value === 'string' ? value : '?');
  const onnx = isRecord(raw.onnx) ? ` (${text(raw.onnx.key)})` : '';
  return `model ${text(raw.modelName)} version ${text(raw.version)}${onnx}`;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(manifest)'}: ${issue.message}`)
    .join('; ');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
