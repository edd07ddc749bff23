/**
 * The tuning trial thread: it stays for trial after trial (`ThreadPool`), keeping the last stage
 * table it decoded, and for each trial it is sent runs it over its folds and posts progress and the
 * result to the activity that asked.
 */
import { parentPort } from 'node:worker_threads';
import type { Table } from '../../ml/table';
import type { ThreadMessage } from '../../platform/threads';
import { loadSnapshot } from '../ingest';
import type { PipelineSpec } from '../spec/schema';
import type { TrialResult } from './halving';
import { type TrialInput, runTrial, type TrialProgress } from './trial';

/** A trial as the activity sends it: the stage table's bytes in place of the table. */
export type TrialRequest = Omit<TrialInput, 'table' | 'spec' | 'onProgress' | 'now'> & {
  tableKey: string;
  tableBytes: Uint8Array;
  spec: PipelineSpec;
};

type Message = ThreadMessage<TrialProgress, TrialResult>;

/** The last table decoded, by its key (which names its SHA-256): trials of one run share it. */
let cached: { key: string; table: Table } | undefined;

async function tableOf(request: TrialRequest): Promise<Table> {
  if (cached?.key === request.tableKey) return cached.table;
  // The bytes were fetched by the activity; loadSnapshot checks them against the key's hash.
  const loaded = await loadSnapshot({ get: () => Promise.resolve(request.tableBytes) }, request.tableKey);
  cached = { key: request.tableKey, table: loaded.table };
  return loaded.table;
}

const port = parentPort;
if (!port) throw new Error('trialThread runs in a worker thread');
const post = (message: Message) => port.postMessage(message);

port.on('message', (request: TrialRequest) => {
  void (async () => {
    try {
      const table = await tableOf(request);
      const result = runTrial({
        ...request,
        table,
        onProgress: (progress) => post({ type: 'progress', progress }),
      });
      post({ type: 'done', result });
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      const nonRetryable = (failure as { nonRetryable?: unknown }).nonRetryable === true;
      post({ type: 'error', name: failure.name, message: failure.message, nonRetryable });
    }
  })();
});
