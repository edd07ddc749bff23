/**
 * What serving knows about one model: what each alias serves, what the registry says, and the
 * versions it refused; and how that reads in `GET /v1/status`.
 */
import { ALIAS_NAMES, type AliasName, type AliasRecord } from '../registry';
import type { RefusalReason } from './loadVersion';
import { type ServedAliases, slotOf } from './versionSlots';

/** A version serving refused to load. */
export interface LoadRefusal {
  alias: AliasName;
  version: number;
  reason: RefusalReason;
  message: string;
  at: string;
}

/** Where one model stands, for `GET /v1/status`. */
export interface ServedModelStatus {
  model: string;
  /** What answers now. */
  serving: {
    alias: AliasName;
    version: number;
    trafficShare: number | null;
    loadedAt: string;
    keyId: string;
    onnxSha256: string;
  }[];
  /** What the registry's aliases say; differs from `serving` while loading or after a refusal. */
  registry: { alias: AliasName; version: number; trafficShare: number | null }[];
  /** True when every alias serves the version the registry names. */
  upToDate: boolean;
  lastRefusal: LoadRefusal | null;
  /** The latest refusals, newest first. */
  refusals: LoadRefusal[];
  checkedAt: string | null;
  /** The last failed check (the registry unreachable), until a check succeeds. */
  lastError: { message: string; at: string } | null;
}

export interface ServedModelsStatus {
  ready: boolean;
  listening: boolean;
  lastNotificationAt: string | null;
  lastPollAt: string | null;
  models: ServedModelStatus[];
}

/** Serving's record of one model. */
export interface ModelState {
  served: ServedAliases;
  registry: AliasRecord[];
  refusals: LoadRefusal[];
  /** Versions refused for good; tried again only when a notification moves an alias to them. */
  refused: Map<number, LoadRefusal>;
  checkedAt: Date | null;
  lastError: { message: string; at: Date } | null;
}

export function newModelState(): ModelState {
  return { served: {}, registry: [], refusals: [], refused: new Map(), checkedAt: null, lastError: null };
}

/** The model's entry in `GET /v1/status`. */
export function modelStatus(model: string, state: ModelState): ServedModelStatus {
  const serving = ALIAS_NAMES.flatMap((alias) => {
    const slot = slotOf(state.served, alias);
    if (!slot) return [];
    const { loaded } = slot;
    return [
      {
        alias,
        version: loaded.version,
        trafficShare: alias === 'canary' ? (state.served.canary?.trafficShare ?? null) : null,
        loadedAt: loaded.loadedAt.toISOString(),
        keyId: loaded.keyId,
        onnxSha256: loaded.onnxSha256,
      },
    ];
  });
  const registry = state.registry.map((record) => ({
    alias: record.alias,
    version: record.version,
    trafficShare: record.trafficShare,
  }));
  const upToDate =
    registry.length === serving.length &&
    registry.every((record) =>
      serving.some((entry) => entry.alias === record.alias && entry.version === record.version),
    );
  return {
    model,
    serving,
    registry,
    upToDate,
    lastRefusal: state.refusals[0] ?? null,
    refusals: [...state.refusals],
    checkedAt: state.checkedAt?.toISOString() ?? null,
    lastError: state.lastError
      ? { message: state.lastError.message, at: state.lastError.at.toISOString() }
      : null,
  };
}
