/**
 * The activity's side of a batch scoring thread (`scoringThread.ts`): started on ONNX bytes that
 * were verified (their SHA-256 is the one `loadVersion` verified), it scores tables as an
 * `OnnxScorer` does, in its own thread. A thread that dies fails what it was asked, and every
 * request after.
 */
import type { Worker } from 'node:worker_threads';
import type { KerfOnnxMetadata, OnnxScores } from '../../ml/onnx';
import type { Column, Table } from '../../ml/table';
import { startThread } from '../../platform/threads';

/** A table to score: its columns, copied to the thread. */
export interface ScoringRequest {
  id: number;
  columns: Column[];
}

/** What the thread answers. */
export type ScoringReply =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'scored'; id: number; scores: OnnxScores }
  | { type: 'error'; id: number; message: string };

const THREAD_MODULE = new URL('./scoringThread.ts', import.meta.url);

/** Scores tables in a thread of its own, with the same answers as `OnnxScorer.scoreTable`. */
export class ThreadScorer {
  private nextId = 0;
  private readonly waiting = new Map<
    number,
    { resolve: (scores: OnnxScores) => void; reject: (error: Error) => void }
  >();
  private broken: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    /** What the model takes and returns (from the verified file's metadata). */
    readonly metadata: KerfOnnxMetadata,
  ) {
    worker.on('message', (reply: ScoringReply) => {
      if (reply.type !== 'scored' && reply.type !== 'error') return;
      const pending = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0) worker.unref();
      if (reply.type === 'scored') pending?.resolve(reply.scores);
      else pending?.reject(new Error(`the scoring thread could not score: ${reply.message}`));
    });
    const fail = (error: Error) => {
      this.broken ??= error;
      for (const pending of this.waiting.values()) pending.reject(this.broken);
      this.waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the scoring thread stopped (exit code ${code})`)));
    // An idle scoring thread must not keep a stopping worker process alive; one with work asked of
    // it does (`scoreTable`). After the listeners: adding the first 'message' listener refs it again.
    worker.unref();
  }

  /**
   * Starts a thread with a session on `onnx`.
   *
   * @param onnx bytes whose SHA-256 was verified against the signed manifest
   * @throws when onnxruntime refuses the bytes or the thread does not start
   */
  static start(onnx: Uint8Array, metadata: KerfOnnxMetadata): Promise<ThreadScorer> {
    const worker = startThread(THREAD_MODULE, { onnx });
    return new Promise((resolve, reject) => {
      const onMessage = (reply: ScoringReply) => {
        if (reply.type === 'ready') {
          settle();
          resolve(new ThreadScorer(worker, metadata));
        } else if (reply.type === 'failed') {
          settle();
          void worker.terminate();
          reject(new Error(`onnxruntime refused the model in the scoring thread: ${reply.message}`));
        }
      };
      const onError = (error: Error) => {
        settle();
        reject(error);
      };
      const onExit = (code: number) => {
        settle();
        reject(new Error(`the scoring thread stopped (exit code ${code}) before it was ready`));
      };
      const settle = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
    });
  }

  /** Scores every row of `table` in the thread. */
  scoreTable(table: Table): Promise<OnnxScores> {
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(id, { resolve, reject });
      const request: ScoringRequest = { id, columns: [...table.columns] };
      this.worker.postMessage(request);
    });
  }

  /** Stops the thread; its session goes with it. */
  async release(): Promise<void> {
    await this.worker.terminate();
  }
}
