/** Nightly monitoring of production models: pure computations the nightly workflow's activities call. */
export * from './columns';
export * from './distribution';
export * from './reference';
export * from './drift';
export * from './decay';
export * from './calibration';
export * from './classPrior';
export * from './classOutcomes';
export * from './report';
export * from './page';
export * from './monitor';
export * from './versionErrors';
export * from './canary';
export * from './shadow';
export * from './deployments';
