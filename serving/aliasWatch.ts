/**
 * Listens on the registry's `kerf_registry` channel on a connection of its own, so serving hears of
 * a deploy, a canary or a rollback within moments. Notifications sent while the connection was down
 * are lost, so after every reconnect `onConnected` runs and the caller re-reads the registry; the
 * caller's polling covers the time in between.
 */
import pg from 'pg';
import { type AliasChange, type AliasChangeListener, listenForAliasChanges } from '../registry';
import { errorMessage } from './errors';

export interface AliasWatchHandlers {
  onChange(change: AliasChange): void;
  /** After the first connection and every reconnect: re-read what may have changed meanwhile. */
  onConnected(): void;
}

interface WatchLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

/** The longest wait between reconnection attempts, in milliseconds. */
const MAX_RECONNECT_DELAY_MS = 30_000;

export class AliasWatch {
  private client: pg.Client | undefined;
  private listener: AliasChangeListener | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelayMs = 500;
  private closing = false;
  private connectedSince: Date | null = null;
  private lastNotification: Date | null = null;

  constructor(
    private readonly clientConfig: pg.ClientConfig,
    private readonly handlers: AliasWatchHandlers,
    private readonly log: WatchLog,
  ) {}

  /**
   * Connects and listens.
   *
   * @throws when PostgreSQL cannot be reached (the first time only; later losses reconnect)
   */
  async start(): Promise<void> {
    await this.connect();
  }

  get status(): { listening: boolean; connectedSince: string | null; lastNotificationAt: string | null } {
    return {
      listening: this.connectedSince !== null,
      connectedSince: this.connectedSince?.toISOString() ?? null,
      lastNotificationAt: this.lastNotification?.toISOString() ?? null,
    };
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    await this.disconnect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.clientConfig);
    // A lost connection emits 'error' and then 'end'; both lead to one reconnect.
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('the connection ended')));
    try {
      await client.connect();
      this.listener = await listenForAliasChanges(
        client,
        (change) => {
          this.lastNotification = new Date();
          this.handlers.onChange(change);
        },
        (error) => this.log.warn({ error: error.message }, 'ignoring a kerf_registry notification'),
      );
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      throw error;
    }
    this.client = client;
    this.connectedSince = new Date();
    this.reconnectDelayMs = 500;
    this.handlers.onConnected();
  }

  private lost(client: pg.Client, error: Error): void {
    if (this.closing || client !== this.client) return;
    this.log.warn(
      { error: error.message },
      'lost the kerf_registry listener; reconnecting (polling covers the gap)',
    );
    this.client = undefined;
    this.listener = undefined;
    this.connectedSince = null;
    client.removeAllListeners('end');
    void client.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closing) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.connect().then(
        () => this.log.info({}, 'listening on kerf_registry again'),
        (error: unknown) => {
          this.log.warn({ error: errorMessage(error) }, 'cannot listen on kerf_registry yet; trying again');
          this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, MAX_RECONNECT_DELAY_MS);
          this.scheduleReconnect();
        },
      );
    }, this.reconnectDelayMs);
    this.reconnectTimer.unref();
  }

  private async disconnect(): Promise<void> {
    const { client, listener } = this;
    this.client = undefined;
    this.listener = undefined;
    this.connectedSince = null;
    if (!client) return;
    client.removeAllListeners('end');
    await listener?.stop().catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}
