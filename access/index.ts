/** People and keys: users and roles, CLI keys, service tokens, decision codes, the CLI's login. */
export * from './errors';
export * from './roles';
export * from './secrets';
export * from './users';
export * from './tokens';
export * from './decisionCodes';
export * from './credentials';
export * from './firstStart';
export * from './productionRollback';
export * from './canaryControl';
