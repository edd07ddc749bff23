/**
 * The pipeline spec: one JSON document per model that names where the data comes from, what to predict
 * from which columns, how to split and train, the gates a candidate must pass, who approves it, how it
 * is deployed and how it is watched. It is validated before any work starts; every problem names the
 * field it is about (`features[2].name: ...`), all problems at once.
 */
export * from './syntax';
export * from './schema';
export * from './load';
export * from './parts';
export * from './history';
export * from './scoring';
export * from './tuning';
export * from './sourceCheck';
export * from './stored';
export * from './versionHash';
