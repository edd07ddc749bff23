/**
 * Long CPU work (training) in a worker thread, so the thread that runs activities stays free to
 * heartbeat and to notice cancellation. A thread dies with its process: a killed worker leaves no
 * orphan training behind.
 */
import { Worker } from 'node:worker_threads';

const BOOT = new URL('../scripts/tsThread.mjs', import.meta.url);

/** Messages a thread posts: progress along the way, then a result or an error. */
export type ThreadMessage<P, R> =
  | { type: 'progress'; progress: P }
  | { type: 'done'; result: R }
  | { type: 'error'; name: string; message: string; nonRetryable: boolean };

/** The error of a thread, with its class name and whether retrying can help. */
export class ThreadError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
    readonly nonRetryable: boolean,
  ) {
    super(message);
    this.name = errorName;
  }
}

/**
 * Runs a TypeScript module (which posts {@link ThreadMessage}s) in a thread and waits for its result.
 *
 * @param module URL of the module, e.g. `new URL('./trainThread.ts', import.meta.url)`
 * @param signal aborts (terminates) the thread
 */
export function runInThread<R>(
  module: URL,
  data: Record<string, unknown>,
  options: { onProgress?: (progress: unknown) => void; signal?: AbortSignal; transfer?: ArrayBuffer[] } = {},
): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const worker = new Worker(BOOT, {
      workerData: { ...data, module: module.href },
      transferList: options.transfer,
    });
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', abort);
      outcome();
      void worker.terminate();
    };
    const abort = () => {
      const reason: unknown = options.signal?.reason;
      finish(() => reject(reason instanceof Error ? reason : new Error('the thread was aborted')));
    };
    options.signal?.addEventListener('abort', abort, { once: true });
    worker.on('message', (message: ThreadMessage<unknown, R>) => {
      if (message.type === 'progress') options.onProgress?.(message.progress);
      else if (message.type === 'done') finish(() => resolve(message.result));
      else finish(() => reject(new ThreadError(message.name, message.message, message.nonRetryable)));
    });
    worker.on('error', (error) => finish(() => reject(error)));
    worker.on('exit', (code) =>
      finish(() => reject(new Error(`the thread stopped (exit code ${code}) without a result`))),
    );
  });
}

/**
 * Starts a TypeScript module in a thread of its own that lives until it is terminated, for work
 * that answers many messages (batch scoring's onnxruntime sessions); the caller owns the Worker.
 *
 * @param module URL of the module, e.g. `new URL('./scoringThread.ts', import.meta.url)`
 */
export function startThread(module: URL, data: Record<string, unknown>): Worker {
  return new Worker(BOOT, { workerData: { ...data, module: module.href } });
}

/**
 * Threads that run one task at a time and stay for the next: for many short tasks (tuning trials)
 * whose thread start (tsx and the modules, most of a second) would otherwise cost as much as the
 * work. The module answers each message it gets with {@link ThreadMessage}s, as a one-shot thread
 * does. A task that is aborted or whose thread fails takes its thread with it; idle threads never
 * keep the process alive.
 */
export class ThreadPool {
  private readonly idle: Worker[] = [];

  /**
   * @param module URL of the module, which handles `parentPort` messages one at a time
   * @param keepIdle idle threads kept for the next tasks (the rest end when their task does)
   */
  constructor(
    private readonly module: URL,
    private readonly keepIdle: number,
  ) {}

  /** Runs one task on an idle thread (or a new one) and waits for its result. */
  run<R>(
    data: unknown,
    options: {
      onProgress?: (progress: unknown) => void;
      signal?: AbortSignal;
      transfer?: ArrayBuffer[];
    } = {},
  ): Promise<R> {
    const worker = this.idle.pop() ?? startThread(this.module, {});
    return new Promise<R>((resolve, reject) => {
      const detach = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        options.signal?.removeEventListener('abort', abort);
      };
      const release = () => {
        detach();
        if (this.idle.length < this.keepIdle) {
          // After the listeners are gone: an idle thread must not keep a stopping process alive.
          worker.unref();
          this.idle.push(worker);
        } else {
          void worker.terminate();
        }
      };
      const discard = () => {
        detach();
        void worker.terminate();
      };
      const onMessage = (message: ThreadMessage<unknown, R>) => {
        if (message.type === 'progress') {
          options.onProgress?.(message.progress);
        } else if (message.type === 'done') {
          release();
          resolve(message.result);
        } else {
          release();
          reject(new ThreadError(message.name, message.message, message.nonRetryable));
        }
      };
      const onError = (error: Error) => {
        discard();
        reject(error);
      };
      const onExit = (code: number) => {
        detach();
        reject(new Error(`the thread stopped (exit code ${code}) without a result`));
      };
      const abort = () => {
        discard();
        const reason: unknown = options.signal?.reason;
        reject(reason instanceof Error ? reason : new Error('the thread was aborted'));
      };
      if (options.signal?.aborted) {
        abort();
        return;
      }
      options.signal?.addEventListener('abort', abort, { once: true });
      // Adding the 'message' listener refs the thread again while it works.
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.ref();
      worker.postMessage(data, options.transfer ?? []);
    });
  }

  /** Ends the idle threads. */
  async close(): Promise<void> {
    await Promise.all(this.idle.splice(0).map((worker) => worker.terminate()));
  }
}
