// Every workflow the Kerf worker runs. Orchestration only: no I/O, no Node built-ins.
export { smokeCheck } from './smoke';
export { modelLifecycle } from './modelLifecycle';
export { nightlyEvaluation } from './nightlyEvaluation';
export { batchScoring } from './batchScoring';
export { announcementRedelivery } from './announcementRedelivery';
