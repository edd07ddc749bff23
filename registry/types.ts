/** The registry's records as the code sees them (camelCase), one home for the shared shapes. */
import type { TaskKind } from '../ml/model';
import type { JsonObject, JsonValue } from './json';
import type { VersionStatus } from './status';

/** A model: one per pipeline, named by the pipeline spec. */
export interface ModelRecord {
  /** The pipeline's kebab-case name, e.g. `steel-energy`. */
  name: string;
  task: TaskKind;
  description: string | null;
  createdAt: Date;
}

/** A model with where it stands, for listings. */
export interface ModelSummary extends ModelRecord {
  /** The highest version number, or null before the first run registered one. */
  latestVersion: number | null;
  /** The version the production alias points at, or null when nothing serves yet. */
  productionVersion: number | null;
}

/** Object-store keys of a version's artifacts; null until recorded. */
export interface VersionArtifactKeys {
  /** The ONNX graph that serves, preprocessing included. */
  onnxKey: string | null;
  /** The signed manifest (lineage, metrics, SHA-256 of the ONNX bytes). */
  manifestKey: string | null;
  /** The model card people read before approving. */
  cardKey: string | null;
}

/** One immutable version of a model. */
export interface VersionRecord {
  model: string;
  /** 1, 2, 3... per model, in the order versions were first registered. */
  version: number;
  /** Hash of the pipeline spec that made it (its revisions have their own, `registry/specRevisions.ts`). */
  specHash: string;
  /**
   * Hash of the spec fields that make the model (`modelHash`): a spec that differs only in the
   * others finds this version and records a revision of it (`registry/specRevisions.ts`).
   */
  modelHash: string;
  /** Hash of the data snapshot it was trained on. */
  snapshotHash: string;
  /** The workflow id of the lifecycle run that registered it. */
  runId: string;
  /** The trainer parameters, as the spec resolved them. */
  params: JsonObject;
  /** The code that trained it (a git commit or a package version). */
  codeVersion: string;
  status: VersionStatus;
  artifacts: VersionArtifactKeys;
  /** Test-set metrics, null until the evaluation is recorded. */
  metrics: JsonObject | null;
  /** The gates' verdicts, null until recorded. */
  gateVerdicts: JsonValue | null;
  evaluatedAt: Date | null;
  createdAt: Date;
  statusChangedAt: Date;
}

export const ALIAS_NAMES = ['production', 'canary', 'shadow'] as const;

/**
 * Where serving looks: `production` answers requests; `canary` answers a share of them
 * (`trafficShare`); `shadow` scores alongside production without answering.
 */
export type AliasName = (typeof ALIAS_NAMES)[number];

export interface AliasRecord {
  model: string;
  alias: AliasName;
  version: number;
  /** The share of requests a canary answers, in (0, 1); null for production and shadow. */
  trafficShare: number | null;
  updatedAt: Date;
  updatedBy: string;
}

/**
 * One entry of an alias's history. `move` points it at a version, `rollback` returns production to
 * the version before, `remove` takes a canary or shadow away (`version` null).
 */
export interface AliasMove {
  id: number;
  model: string;
  alias: AliasName;
  kind: 'move' | 'rollback' | 'remove';
  version: number | null;
  previousVersion: number | null;
  trafficShare: number | null;
  actor: string;
  reason: string;
  movedAt: Date;
}

export type ApprovalDecision = 'approved' | 'rejected';

/** A person's decision on a candidate version; there is at most one per version. */
export interface ApprovalRecord {
  model: string;
  version: number;
  decision: ApprovalDecision;
  approver: string;
  comment: string | null;
  decidedAt: Date;
}

/** The decisions the registry itself records; other parts of Kerf add their own actions. */
export type RegistryAuditAction =
  | 'version-created'
  | 'evaluation-recorded'
  | 'status-changed'
  | 'approval-recorded'
  | 'alias-moved'
  | 'alias-removed'
  | 'production-rolled-back'
  | 'signing-key-recorded'
  | 'signing-key-trusted'
  | 'signing-key-revoked';

/** One row of the append-only audit log. */
export interface AuditEntry {
  id: number;
  at: Date;
  /** Who decided: a person's name, or `run:<workflow id>` for a lifecycle run. */
  actor: string;
  /** What was decided, kebab-case (`alias-moved`, `category-mapping-taught`...). */
  action: string;
  model: string | null;
  version: number | null;
  details: JsonObject;
}

/** The public half of a manifest signing key an admin trusted, and whether it was revoked since. */
export interface SigningKeyRecord {
  /** The id manifests name the key by (derived from the key). */
  keyId: string;
  /** What the key is, for people. */
  name: string;
  /** SPKI PEM of an Ed25519 public key. */
  publicKeyPem: string;
  trustedBy: string;
  trustedAt: Date;
  /** Null while the key is trusted. */
  revokedBy: string | null;
  revokedAt: Date | null;
  revokeReason: string | null;
}
