/**
 * Histogram jobs on several threads. Training stays synchronous: worker threads share the binned
 * data, the node's rows and gradients, the histogram pool and the job through the kernel's shared
 * WebAssembly memory (each thread runs its own instance of the kernel on it). The main thread posts a
 * job cut into shares of its features; every thread, the main one too, takes the next share until
 * none is left (a worker that wakes late or runs slower takes fewer), then the main thread blocks on
 * Atomics.wait until the workers are done. Every feature's histogram is computed by exactly one
 * thread in the same order and split results are merged in share order, which is feature order, so
 * the model does not depend on the thread count or on which thread took which share.
 */
import { Worker } from 'node:worker_threads';
import { buildHistograms } from './accumulate';
import { JOB, SHARE_STEPS, runShares, searchSplits, shareJob, type HistogramBuffers } from './histogram';
import type { HistogramKernel } from './kernel';
import { partitionRows } from './rows';

// Layout of each worker's control block (Int32 slots).
const SEQ = 0; // bumped by the main thread to post a job
const DONE = 1; // set to the job's SEQ by the worker when finished
const READY = 2; // 1 once the worker runs
const COMMAND = 3; // 0 = take shares of the histogram job, 1 = stop, 2 = partition rows
const STATUS = 4; // 1 = ok, 2 = the job threw
const PART_START = 5;
const PART_COUNT = 6;
const PART_LEFT = 7; // the worker's answer: rows of its chunk going left
const CONTROL_SLOTS = 8;

/** How long to wait for a worker thread to start before training on one thread instead. */
const STARTUP_TIMEOUT_MS = 10_000;

function workerSource(): string {
  // The kernels' own compiled source: no second copy of the hot loops to keep in sync.
  return `
const { workerData } = require('node:worker_threads');
const buildHistograms = (${buildHistograms.toString()});
const searchSplits = (${searchSplits.toString()});
const runShares = (${runShares.toString()});
const steps = { build: buildHistograms, search: searchSplits };
const partitionRows = (${partitionRows.toString()});
const d = workerData;
const c = d.control;
// This thread's instance of the histogram kernel, on the grower's shared memory.
const kernel = new WebAssembly.Instance(d.module, { env: { memory: d.memory } }).exports;
Atomics.store(c, ${READY}, 1);
Atomics.notify(c, ${READY});
let seen = 0;
for (;;) {
  Atomics.wait(c, ${SEQ}, seen);
  const seq = Atomics.load(c, ${SEQ});
  if (seq === seen) continue;
  seen = seq;
  if (c[${COMMAND}] === 1) break;
  let status = 1;
  try {
    if (c[${COMMAND}] === 2) {
      c[${PART_LEFT}] = partitionRows(d, kernel, d.thread, c[${PART_START}], c[${PART_COUNT}], 0);
    } else {
      runShares(d, kernel, steps);
    }
  } catch {
    status = 2;
  }
  c[${STATUS}] = status;
  Atomics.store(c, ${DONE}, seq);
  Atomics.notify(c, ${DONE});
}
`;
}

/** Runs histogram jobs on the calling thread plus `count` worker threads. */
export class HistogramWorkers {
  private sequence = 0;

  private constructor(
    private readonly workers: Worker[],
    private readonly controls: Int32Array[],
  ) {}

  /**
   * Starts `count` worker threads over the shared buffers; null when they cannot start (then train on
   * one thread: the model is the same).
   */
  static start(count: number, buffers: HistogramBuffers): HistogramWorkers | null {
    const source = workerSource();
    const workers: Worker[] = [];
    const controls: Int32Array[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const control = new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * 4));
        const workerData = { ...buffers, control, thread: i + 1 };
        const worker = new Worker(source, { eval: true, workerData });
        // Never keep the process alive for a worker, and never crash it from one: failures show as timeouts.
        worker.unref();
        worker.on('error', () => undefined);
        workers.push(worker);
        controls.push(control);
      }
      for (const control of controls) {
        if (Atomics.wait(control, READY, 0, STARTUP_TIMEOUT_MS) === 'timed-out') {
          throw new Error('histogram worker did not start');
        }
      }
    } catch {
      for (const worker of workers) void worker.terminate();
      return null;
    }
    return new HistogramWorkers(workers, controls);
  }

  /** Threads sharing a job, this one included. */
  get threadCount(): number {
    return this.workers.length + 1;
  }

  /**
   * Runs the job in `buffers.job` over features featureList[0..listLength), cut into `shares` that
   * every thread takes one after the other (runShares); their results are at share * 2 *
   * RESULT_SIZE when all threads are done.
   */
  run(listLength: number, shares: number, buffers: HistogramBuffers, kernel: HistogramKernel): void {
    shareJob(buffers, listLength, shares);
    const sequence = ++this.sequence;
    for (const control of this.controls) {
      control[COMMAND] = 0;
      Atomics.store(control, SEQ, sequence);
      Atomics.notify(control, SEQ);
    }
    runShares(buffers, kernel, SHARE_STEPS);
    for (const control of this.controls) this.wait(control, sequence);
  }

  /**
   * Stable partition of rows[start..start+count) (with their gradients and hessians) by the split in
   * `buffers.job`, in contiguous chunks, one per thread; then the chunks' left parts are gathered
   * before their right parts. A stable partition is unique, so this equals the one-thread result.
   * `scratch*` are this thread's partition scratch arrays (views of `buffers.partitionScratch`), at
   * least `count` long. Returns the rows going left.
   */
  partition(
    start: number,
    count: number,
    buffers: HistogramBuffers,
    kernel: HistogramKernel,
    rowScratch: Uint32Array,
    gradScratch: Float64Array,
    hessScratch: Float64Array,
  ): number {
    const threads = this.threadCount;
    const sequence = ++this.sequence;
    const bound = (part: number) => start + Math.floor((part * count) / threads);
    for (let i = 0; i < this.controls.length; i++) {
      const control = this.controls[i] as Int32Array;
      control[COMMAND] = 2;
      control[PART_START] = bound(i + 1);
      control[PART_COUNT] = bound(i + 2) - bound(i + 1);
      Atomics.store(control, SEQ, sequence);
      Atomics.notify(control, SEQ);
    }
    const { rows, job } = buffers;
    const grad = job[JOB.partitionMovesGradients] === 1 ? buffers.grad : null;
    const hess = grad && buffers.hess.length > 0 ? buffers.hess : null;
    // This thread's right part stays at the start of its scratch arrays, where the merge wants it.
    const lefts = [partitionRows(buffers, kernel, 0, start, bound(1) - start, 1)];
    for (const control of this.controls) {
      this.wait(control, sequence);
      lefts.push(control[PART_LEFT] as number);
    }
    // Chunk t is [left_t | right_t] (the first chunk's right part in scratch already): move every
    // other right part to scratch, every left part down. The last chunk's right part ends the
    // range, where it belongs already: it stays.
    let write = start;
    let right = 0;
    for (let part = 0; part < threads; part++) {
      const from = bound(part);
      const left = lefts[part] as number;
      const to = part + 1 < threads ? bound(part + 1) : from + left;
      for (const [values, scratch] of [
        [rows, rowScratch],
        ...(grad ? [[grad, gradScratch] as const] : []),
        ...(hess ? [[hess, hessScratch] as const] : []),
      ] as const) {
        if (write !== from) values.copyWithin(write, from, from + left);
        if (part > 0) scratch.set(values.subarray(from + left, to), right);
      }
      write += left;
      right += to - from - left;
    }
    rows.set(rowScratch.subarray(0, right), write);
    if (grad) grad.set(gradScratch.subarray(0, right), write);
    if (hess) hess.set(hessScratch.subarray(0, right), write);
    return write - start;
  }

  private wait(control: Int32Array, sequence: number): void {
    for (;;) {
      const done = Atomics.load(control, DONE);
      if (done === sequence) break;
      Atomics.wait(control, DONE, done);
    }
    if (control[STATUS] !== 1) throw new Error('A histogram worker thread failed');
  }

  /** Stops the worker threads. */
  close(): void {
    const sequence = ++this.sequence;
    for (const control of this.controls) {
      control[COMMAND] = 1;
      Atomics.store(control, SEQ, sequence);
      Atomics.notify(control, SEQ);
    }
    for (const worker of this.workers) void worker.terminate();
  }
}
