/** The gates a candidate model passes before a person is asked to approve it. */
export * from './verdict';
export * from './quality';
export * from './fairness';
export * from './gate';
export * from './registry';
