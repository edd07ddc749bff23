/**
 * What a history feature computes, in numbers: a lag, a rolling statistic over a time or event
 * window, or the time since the previous event, each as of a cut-off at or before the row's time.
 * The spec writes these with durations (`lifecycle/spec/history.ts`); here they are milliseconds.
 */

/** The most history features a spec may declare: each is a pass over the sorted rows. */
export const MAX_HISTORY_FEATURES = 64;
/** The most key columns that together name an entity (`["customer_id", "material_family"]`). */
export const MAX_HISTORY_KEYS = 4;
/** The furthest lag: a year of daily events. */
export const MAX_HISTORY_LAG = 366;
/** The longest event window, in events. */
export const MAX_HISTORY_EVENTS = 1000;
/** The longest time window and the longest gap: ten years of 366 days. */
export const MAX_HISTORY_SPAN_MS = 3660 * 86_400_000;

/** Rolling statistics over a window. */
export const HISTORY_STATS = ['mean', 'sum', 'count', 'min', 'max'] as const;
export type HistoryStat = (typeof HISTORY_STATS)[number];

/** Units `since` may be measured in. */
export const SINCE_UNITS_MS = { days: 86_400_000, hours: 3_600_000 } as const;
export type SinceUnit = keyof typeof SINCE_UNITS_MS;

/** Which earlier events a rolling statistic reads: those within a time span, or the last N. */
export type HistoryWindow = { kind: 'time'; ms: number } | { kind: 'events'; count: number };

/**
 * One history feature. Every kind reads only the entity's events strictly before the cut-off
 * `t - gapMs`, where t is the row's own time; `gapMs` 0 makes the cut-off the row's time itself.
 */
export type HistoryDefinition =
  | {
      /** The value of the `lag`-th latest event before the cut-off (1 = the latest). */
      kind: 'lag';
      lag: number;
      gapMs: number;
    }
  | {
      /** A statistic of the events in the window that ends just before the cut-off. */
      kind: 'rolling';
      stat: HistoryStat;
      window: HistoryWindow;
      gapMs: number;
    }
  | {
      /** The row's time minus the time of the latest event before the cut-off, in `unitMs`. */
      kind: 'since';
      unitMs: number;
      gapMs: number;
    };
