/**
 * The served-model registry: which version of each model answers (production), takes a share
 * (canary) or scores alongside (shadow), kept in step with the registry's aliases. A moved alias is
 * heard through LISTEN/NOTIFY (and, as a safety net, by polling); the new version is loaded and
 * verified while the old one keeps answering, then swapped in at once. A version that fails
 * verification is never loaded: production keeps its last good version, and the refusal shows in
 * {@link ServedModels.status}, the `kerf_model_load_refusals_total` metric, the log and the audit log.
 */
import type pg from 'pg';
import type { ObjectStore } from '../platform/objectStore';
import { ALIAS_NAMES, type AliasRecord, appendAudit, listAliases, listModels } from '../registry';
import { AliasWatch } from './aliasWatch';
import { errorMessage } from './errors';
import { loadVersion, ModelLoadRefusedError } from './loadVersion';
import type { ServingMetrics } from './metrics';
import {
  type LoadRefusal,
  type ModelState,
  modelStatus,
  newModelState,
  type ServedModelsStatus,
} from './modelState';
import { servingSessionOptions } from './scoringQueue';
import { leaseServed, type ModelLease, type ServedAliases, slotOf, VersionSlot } from './versionSlots';

export type { ModelLease } from './versionSlots';
export type { LoadRefusal, ServedModelStatus, ServedModelsStatus } from './modelState';

export interface ServedModelsOptions {
  pool: pg.Pool;
  objectStore: ObjectStore;
  metrics: ServingMetrics;
  log: { info(details: object, message: string): void; warn(details: object, message: string): void };
  /**
   * How often the registry's aliases are read even without a notification, in milliseconds.
   * @default 30000
   */
  pollIntervalMs?: number;
  /**
   * Whether to LISTEN on `kerf_registry`; turn it off behind a pooler that cannot hold LISTEN
   * (PgBouncer in transaction mode), and lower `pollIntervalMs` instead.
   * @default true
   */
  listen?: boolean;
}

const KEPT_REFUSALS = 10;
/** Polling faster only loads PostgreSQL: LISTEN/NOTIFY is the quick path. */
const MIN_POLL_INTERVAL_MS = 50;
const AUDIT_ACTOR = 'serving';

export class ServedModels {
  private readonly states = new Map<string, ModelState>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly watch: AliasWatch | undefined;
  private readonly started: Promise<void>;
  private pollTimer: NodeJS.Timeout | undefined;
  private lastPollAt: Date | null = null;
  private isReady = false;
  private closed = false;

  constructor(private readonly options: ServedModelsOptions) {
    const interval = options.pollIntervalMs ?? 30_000;
    if (!Number.isSafeInteger(interval) || interval < MIN_POLL_INTERVAL_MS) {
      throw new Error(
        `pollIntervalMs must be a whole number of milliseconds from ${MIN_POLL_INTERVAL_MS}, got ${interval}`,
      );
    }
    if (options.listen ?? true) {
      this.watch = new AliasWatch(
        { ...options.pool.options, application_name: 'kerf-serving-listener' },
        {
          onChange: (change) => void this.refresh(change.model, change.version ?? undefined),
          // After a reconnect: what changed while nobody listened (not on the first connection).
          onConnected: () => {
            if (this.isReady) this.refreshAll().catch((error: unknown) => this.pollFailed(error));
          },
        },
        options.log,
      );
    }
    this.started = this.start();
    // ready() hands the failure to whoever asks; nobody asking must not crash the process.
    this.started.catch(() => undefined);
  }

  /**
   * Resolves once the registry was read and every production version loaded or refused.
   *
   * @throws when PostgreSQL cannot be reached at start
   */
  ready(): Promise<void> {
    return this.started;
  }

  /**
   * The versions a request may use, leased until `release()`, or undefined when nothing serves the
   * model. Synchronous, so a swap cannot happen between looking and leasing.
   */
  lease(model: string): ModelLease | undefined {
    const served = this.states.get(model)?.served;
    if (!served?.production) return undefined;
    return leaseServed(model, served, served.production);
  }

  /** The models with a production version loaded. */
  servedModels(): string[] {
    return [...this.states.entries()].filter(([, state]) => state.served.production).map(([model]) => model);
  }

  /** Why a model has nothing serving: its last refusal, if there was one. */
  lastRefusal(model: string): LoadRefusal | undefined {
    return this.states.get(model)?.refusals[0];
  }

  status(): ServedModelsStatus {
    return {
      ready: this.isReady,
      listening: this.watch?.status.listening ?? false,
      lastNotificationAt: this.watch?.status.lastNotificationAt ?? null,
      lastPollAt: this.lastPollAt?.toISOString() ?? null,
      models: [...this.states.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([model, state]) => modelStatus(model, state)),
    };
  }

  /**
   * Reads the model's aliases and loads what changed. Calls for one model run one after another;
   * the promise never rejects (a failure is recorded in the model's status).
   *
   * @param retryVersion a version to try again even if it was refused before (its alias moved again)
   */
  refresh(model: string, retryVersion?: number): Promise<void> {
    const next = (this.chains.get(model) ?? Promise.resolve())
      .then(() => this.refreshNow(model, retryVersion))
      .catch((error: unknown) => {
        // Recorded in the model's status; what is loaded keeps serving, and the next poll tries again.
        // The status is read by API clients: the error's own text (PostgreSQL's) stays in the log.
        this.stateOf(model).lastError = {
          message: `cannot read the aliases of ${model}; the serving log has the error`,
          at: new Date(),
        };
        this.options.log.warn({ model, error: errorMessage(error) }, `cannot read the aliases of ${model}`);
      });
    this.chains.set(model, next);
    return next;
  }

  /** Refreshes every model that has a production alias (or was served before). */
  async refreshAll(): Promise<void> {
    const models = await listModels(this.options.pool);
    const names = new Set([
      ...models.filter((model) => model.productionVersion !== null).map((model) => model.name),
      ...this.states.keys(),
    ]);
    await Promise.all([...names].map((name) => this.refresh(name)));
    this.lastPollAt = new Date();
  }

  /** Stops listening and polling and frees every loaded version (after the requests using them). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pollTimer);
    await this.watch?.close();
    await this.started.catch(() => undefined);
    await Promise.all(this.chains.values());
    for (const state of this.states.values()) {
      for (const alias of ALIAS_NAMES) slotOf(state.served, alias)?.retire();
      state.served = {};
    }
  }

  private async start(): Promise<void> {
    await this.watch?.start();
    await this.refreshAll();
    this.isReady = true;
    if (this.closed) return;
    const interval = this.options.pollIntervalMs ?? 30_000;
    this.pollTimer = setInterval(() => {
      this.refreshAll().catch((error: unknown) => this.pollFailed(error));
    }, interval);
    this.pollTimer.unref();
  }

  private async refreshNow(model: string, retryVersion: number | undefined): Promise<void> {
    if (this.closed) return;
    const state = this.stateOf(model);
    const aliases = await listAliases(this.options.pool, model);
    const before = state.served;
    const next: ServedAliases = {};
    for (const record of aliases) {
      const current = slotOf(before, record.alias);
      let slot: VersionSlot | undefined =
        current?.loaded.version === record.version ? current : loadedSlot(record.version, before, next);
      if (slot) await this.refreshHistory(model, slot);
      if (!slot && (retryVersion === record.version || !state.refused.has(record.version))) {
        slot = await this.load(model, record, state);
      }
      // A refused production keeps its last good version; a refused canary or shadow stops.
      slot ??= record.alias === 'production' ? current : undefined;
      if (!slot) continue;
      if (record.alias === 'canary') next.canary = { slot, trafficShare: record.trafficShare ?? 0 };
      else next[record.alias] = slot;
    }
    // Closed while loading: what was loaded for nothing is freed.
    if (this.isClosed) {
      const old = new Set(ALIAS_NAMES.map((alias) => slotOf(before, alias)));
      for (const alias of ALIAS_NAMES) {
        const slot = slotOf(next, alias);
        if (slot && !old.has(slot)) slot.retire();
      }
      return;
    }
    state.served = next;
    state.registry = aliases;
    state.checkedAt = new Date();
    state.lastError = null;
    this.afterSwap(model, before, next);
  }

  /** Metrics for the aliases that changed, and the versions nothing serves any more retired. */
  private afterSwap(model: string, before: ServedAliases, next: ServedAliases): void {
    const { metrics, log } = this.options;
    const kept = new Set(ALIAS_NAMES.map((alias) => slotOf(next, alias)));
    for (const alias of ALIAS_NAMES) {
      const old = slotOf(before, alias);
      const now = slotOf(next, alias);
      if (now) metrics.servedVersion.set({ model, alias }, now.loaded.version);
      else metrics.servedVersion.remove({ model, alias });
      if (now !== old && now) {
        metrics.modelSwaps.inc({ model, alias });
        log.info(
          { model, alias, version: now.loaded.version, previousVersion: old?.loaded.version ?? null },
          `${model} ${alias} now serves v${now.loaded.version}`,
        );
      }
      if (old && !kept.has(old)) old.retire();
    }
  }

  /**
   * Reads the events that arrived since a kept version's entity history was loaded; a failure
   * keeps the history it had (logged), it does not stop the version serving.
   */
  private async refreshHistory(model: string, slot: VersionSlot): Promise<void> {
    const history = slot.loaded.featureBuild?.history;
    if (!history || slot.loaded.loadedAt.getTime() > Date.now() - 1000) return;
    try {
      await history.refresh(this.options.pool);
    } catch (error) {
      this.options.log.warn(
        { model, version: slot.loaded.version, error: errorMessage(error) },
        `cannot read the outcomes that extend ${model} v${slot.loaded.version}'s entity history; serving the history it has`,
      );
    }
  }

  private async load(
    model: string,
    record: AliasRecord,
    state: ModelState,
  ): Promise<VersionSlot | undefined> {
    try {
      const loaded = await loadVersion(this.options, model, record.version, {
        sessionOptions: servingSessionOptions,
      });
      state.refused.delete(record.version);
      return new VersionSlot(loaded);
    } catch (error) {
      const refusal: LoadRefusal = {
        alias: record.alias,
        version: record.version,
        reason: error instanceof ModelLoadRefusedError ? error.reason : 'unavailable',
        message: errorMessage(error),
        at: new Date().toISOString(),
      };
      const { metrics, log, pool } = this.options;
      metrics.loadRefusals.inc({
        model,
        alias: record.alias,
        version: String(record.version),
        reason: refusal.reason,
      });
      const cause =
        error instanceof Error && error.cause !== undefined ? errorMessage(error.cause) : undefined;
      log.warn(
        { model, ...refusal, ...(cause === undefined ? {} : { cause }) },
        `refused to load ${model} v${record.version} for ${record.alias}`,
      );
      const retryable = !(error instanceof ModelLoadRefusedError && !error.retryable);
      if (!retryable) {
        state.refused.set(record.version, refusal);
        await appendAudit(pool, {
          actor: AUDIT_ACTOR,
          action: 'serving-load-refused',
          model,
          version: record.version,
          details: { alias: refusal.alias, reason: refusal.reason, message: refusal.message },
        }).catch((auditError: unknown) => {
          log.warn({ model, error: errorMessage(auditError) }, 'could not audit a refused version');
        });
      }
      // Shown once audited, and just before this refresh records the registry it answered: a status
      // read in between would otherwise pair the new refusal with the old registry.
      state.refusals = [refusal, ...state.refusals].slice(0, KEPT_REFUSALS);
      return undefined;
    }
  }

  private pollFailed(error: unknown): void {
    this.options.log.warn({ error: errorMessage(error) }, 'cannot read the registry; serving what is loaded');
  }

  /** Read through a getter: it changes while a refresh awaits. */
  private get isClosed(): boolean {
    return this.closed;
  }

  private stateOf(model: string): ModelState {
    let state = this.states.get(model);
    if (!state) {
      state = newModelState();
      this.states.set(model, state);
    }
    return state;
  }
}

/** A version already loaded for another alias (a canary promoted to production), if any. */
function loadedSlot(version: number, ...served: ServedAliases[]): VersionSlot | undefined {
  for (const aliases of served) {
    for (const alias of ALIAS_NAMES) {
      const slot = slotOf(aliases, alias);
      if (slot?.loaded.version === version) return slot;
    }
  }
  return undefined;
}
