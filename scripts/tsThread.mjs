// Boots a worker thread that runs a TypeScript module: threads do not inherit tsx from the process
// that started them, so each registers it before importing its module (workerData.module, a URL).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
