/**
 * The model registry in PostgreSQL (schema `registry`, migration 000003): models, immutable
 * content-addressed versions, aliases with their history, approvals, signing keys, and the
 * append-only audit log of every decision. `ModelRegistry` gathers the operations over one pool;
 * the functions it calls are exported too, for code that already holds a pool or a client.
 */
import type pg from 'pg';
import { aliasHistory, getAlias, listAliases } from './aliasRecords';
import {
  moveAlias,
  removeAlias,
  rollback,
  type AliasChangeResult,
  type MoveAliasInput,
  type RemoveAliasInput,
  type RollbackInput,
} from './aliases';
import { getApproval, recordApproval, type ApprovalInput, type ApprovalResult } from './approvals';
import { appendAudit, auditTrail, type AuditInput, type AuditTrailOptions } from './audit';
import { recordEvaluation, type EvaluationInput } from './evaluation';
import { getModel, listModels } from './models';
import { resolveVersion, type ResolvedVersion, type ResolveVersionInput } from './resolveVersion';
import {
  getSigningKey,
  listSigningKeys,
  revokeSigningKey,
  trustSigningKey,
  type RevokeSigningKeyInput,
  type TrustSigningKeyInput,
} from './signingKeys';
import type {
  AliasMove,
  AliasName,
  AliasRecord,
  ApprovalRecord,
  AuditEntry,
  ModelRecord,
  ModelSummary,
  SigningKeyRecord,
  VersionRecord,
} from './types';
import { getVersion, listVersions, setStatus, type StatusChangeInput } from './versions';

export * from './aliases';
export { aliasHistory, getAlias, listAliases } from './aliasRecords';
export * from './announcements';
export * from './approvals';
export * from './audit';
export * from './auditChain';
export * from './errors';
export * from './evaluation';
export * from './json';
export { getModel, listModels } from './models';
export * from './notifications';
export * from './productionStack';
export * from './resolveVersion';
export * from './signingKeys';
export * from './specRevisions';
export * from './status';
export * from './types';
export { getVersion, listVersions, setStatus, type StatusChangeInput } from './versions';

/** The registry's operations over one pool, which the caller owns and ends. */
export class ModelRegistry {
  constructor(private readonly pool: pg.Pool) {}

  /** See {@link resolveVersion}: the version of (model, spec hash, snapshot hash), registered if new. */
  resolveVersion(input: ResolveVersionInput): Promise<ResolvedVersion> {
    return resolveVersion(this.pool, input);
  }

  /** See {@link recordEvaluation}: artifact keys, metrics and gate verdicts, each written once. */
  recordEvaluation(model: string, version: number, evaluation: EvaluationInput): Promise<VersionRecord> {
    return recordEvaluation(this.pool, model, version, evaluation);
  }

  /** See {@link setStatus}: a status move along the allowed transitions. */
  setStatus(change: StatusChangeInput): Promise<VersionRecord> {
    return setStatus(this.pool, change);
  }

  /** See {@link recordApproval}: a person's one decision on a candidate. */
  recordApproval(input: ApprovalInput): Promise<ApprovalResult> {
    return recordApproval(this.pool, input);
  }

  /** See {@link moveAlias}: points production, canary or shadow at an approved version. */
  moveAlias(input: MoveAliasInput): Promise<AliasChangeResult> {
    return moveAlias(this.pool, input);
  }

  /** See {@link removeAlias}: ends a canary or shadow. */
  removeAlias(input: RemoveAliasInput): Promise<{ removedVersion: number | null }> {
    return removeAlias(this.pool, input);
  }

  /** See {@link rollback}: production back to the version it served before. */
  rollback(input: RollbackInput): Promise<AliasChangeResult> {
    return rollback(this.pool, input);
  }

  /** See {@link trustSigningKey}: an admin trusts a manifest signing key (owner connection). */
  trustSigningKey(input: TrustSigningKeyInput): Promise<{ key: SigningKeyRecord; trusted: boolean }> {
    return trustSigningKey(this.pool, input);
  }

  /** See {@link revokeSigningKey}: an admin withdraws trust from a key (owner connection). */
  revokeSigningKey(input: RevokeSigningKeyInput): Promise<{ key: SigningKeyRecord; revoked: boolean }> {
    return revokeSigningKey(this.pool, input);
  }

  /** See {@link appendAudit}: a decision made outside the registry (an operator's mapping, say). */
  appendAudit(entry: AuditInput): Promise<AuditEntry> {
    return appendAudit(this.pool, entry);
  }

  getAlias(model: string, alias: AliasName): Promise<AliasRecord | undefined> {
    return getAlias(this.pool, model, alias);
  }

  listAliases(model: string): Promise<AliasRecord[]> {
    return listAliases(this.pool, model);
  }

  aliasHistory(model: string, alias?: AliasName): Promise<AliasMove[]> {
    return aliasHistory(this.pool, model, alias);
  }

  getModel(name: string): Promise<ModelRecord> {
    return getModel(this.pool, name);
  }

  listModels(): Promise<ModelSummary[]> {
    return listModels(this.pool);
  }

  getVersion(model: string, version: number): Promise<VersionRecord> {
    return getVersion(this.pool, model, version);
  }

  listVersions(model: string): Promise<VersionRecord[]> {
    return listVersions(this.pool, model);
  }

  getApproval(model: string, version: number): Promise<ApprovalRecord | undefined> {
    return getApproval(this.pool, model, version);
  }

  auditTrail(model: string, options?: AuditTrailOptions): Promise<AuditEntry[]> {
    return auditTrail(this.pool, model, options);
  }

  getSigningKey(keyId: string): Promise<SigningKeyRecord> {
    return getSigningKey(this.pool, keyId);
  }

  listSigningKeys(): Promise<SigningKeyRecord[]> {
    return listSigningKeys(this.pool);
  }
}
