/**
 * A batch scoring thread: one onnxruntime session on verified ONNX bytes (handed in by the thread
 * that verified them), scoring the tables it is sent, one at a time, until it is terminated.
 * onnxruntime-node runs a session on the calling thread, so scoring here leaves the activity's
 * thread free to read, decode and write the next rows, and chunks side by side score in parallel.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { OnnxScorer } from '../../ml/onnx';
import { Table } from '../../ml/table';
import type { ScoringReply, ScoringRequest } from './threadScorer';

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('scoringThread runs in a worker thread');
  const { onnx } = workerData as { onnx: Uint8Array };
  const reply = (message: ScoringReply) => port.postMessage(message);
  let scorer: OnnxScorer;
  try {
    scorer = await OnnxScorer.load(onnx, { intraOpNumThreads: 1 });
  } catch (error) {
    reply({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
    return;
  }
  // One request at a time: the session is not shared between runs.
  let queue = Promise.resolve();
  port.on('message', (request: ScoringRequest) => {
    queue = queue.then(async () => {
      try {
        const scores = await scorer.scoreTable(new Table(request.columns));
        reply({ type: 'scored', id: request.id, scores });
      } catch (error) {
        reply({
          type: 'error',
          id: request.id,
          message: error instanceof Error ? error.message : String(error),
        });
      }
    });
  });
  reply({ type: 'ready' });
}

await main();
