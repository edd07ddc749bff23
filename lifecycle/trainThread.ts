/**
 * The training thread: decodes the snapshot it is handed, trains the candidate as its spec says and
 * posts progress and the result (model JSON, ONNX bytes, summary) to the activity that started it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ThreadMessage } from '../platform/threads';
import type { PipelineSpec } from './spec';
import { loadSnapshot } from './ingest';
import { type CandidateProgress, trainCandidate, type TrainingSummary } from './train';

export interface TrainingThreadData {
  snapshotKey: string;
  snapshotBytes: Uint8Array;
  spec: PipelineSpec;
  version: number;
}

export interface TrainingThreadResult {
  modelJson: string;
  onnx: Uint8Array;
  summary: TrainingSummary;
}

type Message = ThreadMessage<CandidateProgress, TrainingThreadResult>;

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('trainThread runs in a worker thread');
  const data = workerData as TrainingThreadData;
  const post = (message: Message, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
  try {
    // The bytes were fetched by the activity; loadSnapshot checks them against the key's hash.
    const loaded = await loadSnapshot({ get: () => Promise.resolve(data.snapshotBytes) }, data.snapshotKey);
    const trained = trainCandidate({
      table: loaded.table,
      spec: data.spec,
      modelName: data.spec.name,
      modelVersion: data.version,
      onProgress: (progress) => post({ type: 'progress', progress }),
    });
    const onnx = trained.onnx.slice();
    post(
      { type: 'done', result: { modelJson: JSON.stringify(trained.model), onnx, summary: trained.summary } },
      [onnx.buffer],
    );
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    const nonRetryable = (failure as { nonRetryable?: unknown }).nonRetryable === true;
    post({ type: 'error', name: failure.name, message: failure.message, nonRetryable });
  }
}

await main();
