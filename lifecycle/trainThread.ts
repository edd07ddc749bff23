/**
 * The training thread: decodes the snapshot it is handed, trains the candidate as its spec says and
 * posts progress and the result (model JSON, ONNX bytes, summary) to the activity that started it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ThreadMessage } from '../platform/threads';
import type { PipelineSpec } from './spec';
import { loadSnapshot } from './ingest';
import { type CandidateProgress, trainCandidate, type TrainingSummary } from './train';
import { forecastTableOf, trainForecastCandidate } from './forecast/train';

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
  /** A forecast model's state, as JSON (`lifecycle/forecast`). */
  forecastStateJson?: string;
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
    const candidate = {
      table: data.spec.task === 'forecast' ? forecastTableOf(loaded) : loaded.table,
      spec: data.spec,
      modelName: data.spec.name,
      modelVersion: data.version,
      onProgress: (progress: CandidateProgress) => post({ type: 'progress', progress }),
    };
    // A forecast trains one model over all its series, from the rows its own features are built into.
    const trained =
      data.spec.task === 'forecast' ? trainForecastCandidate(candidate) : trainCandidate(candidate);
    const onnx = trained.onnx.slice();
    const result: TrainingThreadResult = {
      modelJson: JSON.stringify(trained.model),
      onnx,
      summary: trained.summary,
      ...('forecastState' in trained ? { forecastStateJson: JSON.stringify(trained.forecastState) } : {}),
    };
    post({ type: 'done', result }, [onnx.buffer]);
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    const nonRetryable = (failure as { nonRetryable?: unknown }).nonRetryable === true;
    post({ type: 'error', name: failure.name, message: failure.message, nonRetryable });
  }
}

await main();
