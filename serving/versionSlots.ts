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

/**
 * The versions one request leased. A class, not an object literal with a closure: a lease is made
 * for every request, and each closure would be one more object (and one more name set by the
 * TypeScript loader) on the request path.
 */
class VersionLease implements ModelLease {
  readonly production: LoadedVersion;
  readonly canary?: { version: LoadedVersion; trafficShare: number };
  readonly shadow?: LoadedVersion;
  private open = true;

  constructor(
    readonly model: string,
    private readonly served: ServedAliases,
    private readonly productionSlot: VersionSlot,
  ) {
    this.production = productionSlot.loaded;
    if (served.canary) {
      this.canary = { version: served.canary.slot.loaded, trafficShare: served.canary.trafficShare };
    }
    if (served.shadow) this.shadow = served.shadow.loaded;
  }

  release(): void {
    if (!this.open) return;
    this.open = false;
    this.productionSlot.releaseLease();
    this.served.canary?.slot.releaseLease();
    this.served.shadow?.releaseLease();
  }
}

/**
 * Leases every version of `served`, production being `production` (the slot `served` holds, passed
 * on its own so the caller need not copy `served` to prove it is there).
 */
export function leaseServed(model: string, served: ServedAliases, production: VersionSlot): ModelLease {
  production.acquire();
  served.canary?.slot.acquire();
  served.shadow?.acquire();
  return new VersionLease(model, served, production);
}

/** The slot serving an alias, if any. */
export function slotOf(served: ServedAliases, alias: AliasName): VersionSlot | undefined {
  return alias === 'canary' ? served.canary?.slot : served[alias];
}
