/**
 * Order forecasting: a target per period and series (orders per week per material family and
 * customer segment), forecast by one global GBDT over all series, direct multi-horizon; evaluated
 * by a rolling-origin backtest against seasonal naive and a moving average; served from a signed
 * state (each series' recent values) with features built by the same code as in training.
 */
export * from './errors';
export * from './settings';
export * from './calendar';
export * from './frame';
export * from './features';
export * from './state';
export * from './fit';
export * from './forecast';
export * from './metrics';
export * from './backtest';
export * from './monitor';
export * from './signedState';
export * from './train';
export * from './evaluate';
