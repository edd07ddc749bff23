/**
 * Loaded versions shared by the aliases that serve them, with leases so a swap never pulls a model
 * out from under a request: a request leases the versions it may use (synchronously, before its
 * first await), and a version no alias serves any more is released only when its last lease ends.
 */
import type { AliasName } from '../registry';
import type { LoadedVersion } from './loadVersion';

/** One loaded version and the requests using it. */
export class VersionSlot {
  private leases = 0;
  private retired = false;
  private released = false;

  constructor(readonly loaded: LoadedVersion) {}

  acquire(): void {
    if (this.released) throw new Error(`${this.loaded.model} v${this.loaded.version} was already released`);
    this.leases += 1;
  }

  /** Ends one lease; frees the session when the slot is retired and this was the last lease. */
  releaseLease(): void {
    this.leases -= 1;
    if (this.retired && this.leases === 0) this.free();
  }

  /** No alias serves this version any more: free it now or after the last lease. */
  retire(): void {
    this.retired = true;
    if (this.leases === 0) this.free();
  }

  private free(): void {
    if (this.released) return;
    this.released = true;
    // Releasing a session that already failed is harmless; nothing waits on it.
    void this.loaded.scorer.release().catch(() => undefined);
  }
}

/** What serves a model right now; replaced as a whole, never changed in place. */
export interface ServedAliases {
  production?: VersionSlot;
  canary?: { slot: VersionSlot; trafficShare: number };
  shadow?: VersionSlot;
}

/** The versions a request may use, held until {@link ModelLease.release}. */
export interface ModelLease {
  model: string;
  production: LoadedVersion;
  canary?: { version: LoadedVersion; trafficShare: number };
  shadow?: LoadedVersion;
  /** Ends the lease; calling it again does nothing. */
  release(): void;
}

/** Leases every version of `served` (production must be there). */
export function leaseServed(model: string, served: ServedAliases & { production: VersionSlot }): ModelLease {
  const slots = [served.production, served.canary?.slot, served.shadow].filter(
    (slot): slot is VersionSlot => slot !== undefined,
  );
  for (const slot of slots) slot.acquire();
  let open = true;
  return {
    model,
    production: served.production.loaded,
    ...(served.canary
      ? { canary: { version: served.canary.slot.loaded, trafficShare: served.canary.trafficShare } }
      : {}),
    ...(served.shadow ? { shadow: served.shadow.loaded } : {}),
    release: () => {
      if (!open) return;
      open = false;
      for (const slot of slots) slot.releaseLease();
    },
  };
}

/** The slot serving an alias, if any. */
export function slotOf(served: ServedAliases, alias: AliasName): VersionSlot | undefined {
  return alias === 'canary' ? served.canary?.slot : served[alias];
}
