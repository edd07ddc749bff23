/**
 * Per-entity history features (lags, rolling statistics over time or event windows, time since
 * the previous event), computed for each row strictly from the earlier rows of its entity.
 */
export * from './definition';
export * from './order';
export * from './compute';
export * from './build';
export * from './store';
