/**
 * Alias changes as they happen. A trigger on `registry.aliases` sends `NOTIFY kerf_registry` with a
 * JSON payload on every insert, update and delete, so serving reloads within moments of a deploy
 * or rollback, whoever made it. Notifications are delivered on commit and only to connected
 * listeners: a listener that reconnects should re-read the aliases it serves.
 */
import type pg from 'pg';
import { z } from 'zod';
import { ALIAS_NAMES } from './types';

/** The PostgreSQL channel the registry notifies on. */
export const REGISTRY_CHANNEL = 'kerf_registry';

const aliasChangeSchema = z.object({
  event: z.literal('alias-changed'),
  model: z.string(),
  alias: z.enum(ALIAS_NAMES),
  /** The version the alias points at now; null when it was removed. */
  version: z.number().int().nullable(),
  /** The version it pointed at before; null when it was not set. */
  previousVersion: z.number().int().nullable(),
  trafficShare: z.number().nullable(),
  /** Who moved it; null for a removal. */
  updatedBy: z.string().nullable(),
  /** When, as ISO 8601 text. */
  at: z.string(),
});

/** One alias change as the trigger reports it. */
export type AliasChange = z.infer<typeof aliasChangeSchema>;

/**
 * Reads a `kerf_registry` payload.
 *
 * @throws Error naming the payload when it is not an alias change (a newer sender, or a hand-made NOTIFY)
 */
export function parseAliasChange(payload: string): AliasChange {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch (error) {
    throw new Error(`A ${REGISTRY_CHANNEL} notification is not JSON: ${payload.slice(0, 200)}`, {
      cause: error,
    });
  }
  const parsed = aliasChangeSchema.safeParse(value);
  if (!parsed.success) {
    throw new Error(
      `A ${REGISTRY_CHANNEL} notification is not an alias change (${parsed.error.issues
        .map((issue) => `${issue.path.join('.') || '(payload)'}: ${issue.message}`)
        .join('; ')}): ${payload.slice(0, 200)}`,
    );
  }
  return parsed.data;
}

export interface AliasChangeListener {
  /** Stops listening (UNLISTEN); the client stays connected and remains the caller's to end. */
  stop(): Promise<void>;
}

/**
 * Listens for alias changes on a connected client of its own (not a pooled one: a pool would hand
 * the connection to others and the LISTEN would be lost).
 *
 * @param onChange called for every alias change, in commit order
 * @param onInvalid called with a payload that could not be read; by default it is ignored
 */
export async function listenForAliasChanges(
  client: pg.Client,
  onChange: (change: AliasChange) => void,
  onInvalid: (error: Error) => void = () => undefined,
): Promise<AliasChangeListener> {
  const handle = (message: pg.Notification) => {
    if (message.channel !== REGISTRY_CHANNEL) return;
    let change: AliasChange;
    try {
      change = parseAliasChange(message.payload ?? '');
    } catch (error) {
      onInvalid(error as Error);
      return;
    }
    onChange(change);
  };
  client.on('notification', handle);
  try {
    await client.query(`LISTEN ${REGISTRY_CHANNEL}`);
  } catch (error) {
    client.off('notification', handle);
    throw error;
  }
  return {
    stop: async () => {
      client.off('notification', handle);
      await client.query(`UNLISTEN ${REGISTRY_CHANNEL}`);
    },
  };
}
