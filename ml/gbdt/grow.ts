/**
 * Grows one regression tree on binned data from gradients and hessians: leaf-wise (best gain first)
 * or depth-wise, with histogram subtraction (build the smaller child, subtract it from the parent
 * for the larger) and stable in-place partitions of a row index buffer. Buffers live as long as the
 * grower, in the histogram kernel's shared memory (kernel.ts), so growing a tree allocates nothing
 * per row.
 */
import { canSplitOn, type BinnedData, type FeatureBinning } from './binning';
import { bestCategorySplit } from './categorical';
import {
  JOB,
  JOB_VALUES,
  RESULT_SIZE,
  binStride,
  carriedRootHistogram,
  runShares,
  shareJob,
  SHARE_STEPS,
  maxShares,
  sharesFor,
  type HistogramBuffers,
} from './histogram';
import { KernelArena, instantiateKernel, kernelModule, type HistogramKernel } from './kernel';
import type { LeafOfRows } from './losses';
import { HistogramWorkers } from './parallel';
import { addLeafRows, countAllRows, gather, partitionRows } from './rows';
import { mergeSplits, type Split, type SplitParams } from './split';

export interface GrowParams extends SplitParams {
  maxLeaves: number;
  maxDepth: number;
  growth: 'leafwise' | 'depthwise';
  /** Whether a node may split a categorical feature by a set of its categories (categorical.ts). */
  categorySplits: boolean;
}

/** A leaf of a grown tree: its rows are `rows[start..start+count)` of the grower's row buffer. */
export interface GrownLeaf {
  node: number;
  start: number;
  count: number;
  grad: number;
  hess: number;
}

/** A tree in bin space (split bins, not thresholds); node 0 is the root, leaves have feature -1. */
export interface GrownTree {
  feature: number[];
  bin: number[];
  missingLeft: boolean[];
  left: number[];
  right: number[];
  gain: number[];
  /** Per node: for a category split, 1 per value bin going left (categorical.ts); else null. */
  leftBins: (Uint8Array | null)[];
  leaves: GrownLeaf[];
}

/** Each node's value in `tree`: leaf i's is `leafValues[i]`, an inner node's 0. */
export function valueOfNodes(tree: GrownTree, leafValues: readonly number[]): Float64Array {
  const value = new Float64Array(tree.feature.length);
  tree.leaves.forEach((leaf, i) => (value[leaf.node] = leafValues[i] as number));
  return value;
}

interface OpenLeaf extends GrownLeaf {
  depth: number;
  /** Histogram slot, or -1 when the leaf has none (cannot split, or evicted). */
  slot: number;
  split: Split | null;
}

/** Internal trade-offs of the grower (they change speed, never the model). */
export interface GrowerTuning {
  /**
   * Nodes with fewer rows build their histograms on the calling thread alone: waking workers costs more.
   * @default 4096
   */
  parallelMinRows: number;
  /**
   * Leaves with fewer rows are partitioned on the calling thread alone: a partition does little work
   * per row, and merging the threads' chunks costs a copy.
   * @default 16384
   */
  parallelPartitionMinRows: number;
  /**
   * Histogram memory before leaves' histograms are evicted (and rebuilt when needed).
   * @default 512 MiB
   */
  histogramBudgetBytes: number;
  /**
   * Up to this many training rows, nodes gather their gradients before building histograms; above,
   * partitions move the gradients along with the rows (a gather would cost a cache miss per row).
   * @default 131072
   */
  gatherMaxRows: number;
}

/**
 * The training scores of a loss whose gradient is the residual (squared error), kept in the kernel's
 * memory beside the row buffer: `addTreeToResiduals` adds a tree to them in the kernel.
 */
export interface ResidualScores {
  /** Each row's score (the base score before the first tree). */
  raw: Float64Array;
  /** Each row's gradient, score minus target: the array to grow the next tree on. */
  grad: Float64Array;
}

/** The most leaves a tree may have for its leaf index to be 16-bit (as the residual score pass reads it). */
const MAX_16_BIT_LEAVES = 65_536;

const DEFAULT_TUNING: GrowerTuning = {
  parallelMinRows: 4096,
  parallelPartitionMinRows: 16_384,
  histogramBudgetBytes: 512 * 1024 * 1024,
  gatherMaxRows: 131_072,
};

/**
 * Grows trees one after the other over the same binned data, reusing its buffers (and worker
 * threads, when asked for more than one thread). Call `close()` when done to stop the workers.
 */
export class TreeGrower {
  /** Row index buffer: the caller's sample is copied here and partitioned leaf by leaf. */
  readonly rows: Uint32Array;
  /** This thread's partition scratch arrays (in the kernel's memory, every row long). */
  private readonly scratch: Uint32Array;
  /** The table of the split being partitioned: a byte per bin of its feature, 1 for the bins going left. */
  private readonly goesLeft: Uint8Array;
  private readonly gradScratch: Float64Array;
  private readonly hessScratch: Float64Array;
  private readonly buffers: HistogramBuffers;
  /** This thread's instance of the histogram kernel. */
  private readonly kernel: HistogramKernel;
  private readonly stride: number;
  private readonly slotSize: number;
  private readonly slotCount: number;
  private readonly freeSlots: number[] = [];
  private workers: HistogramWorkers | null = null;
  private open: OpenLeaf[] = [];
  private tree: GrownTree = emptyTree();
  private listLength = 0;
  /** The current tree's categorical features with a bin per category: they may split by sets. */
  private categoryFeatures: number[] = [];
  /** Whether the current tree grows on every row (no row sample). */
  private allRows = false;
  /** The slot holding the next tree's root histogram (carryRoot), or -1; and the features it covers. */
  private carriedRoot = -1;
  private carriedFeatures = new Int32Array(0);
  /** The current tree's gradients and hessians, by row. */
  private grad: Float64Array = new Float64Array(0);
  private hess: Float64Array = new Float64Array(0);
  /**
   * Whether partitions move the gradients along with the rows (large data: gathering a node's
   * gradients would be a cache miss per row), or nodes gather them before their histograms are
   * built (small data: cheaper than moving them at every split).
   */
  private readonly moveGradients: boolean;
  private readonly tuning: GrowerTuning;
  /** Each training row's leaf in the last tree on every row (leafOfTrainingRows). */
  private readonly leafOfRows: LeafOfRows;
  /** The leaves' [start, count] row ranges, for the kernel to mark each row's leaf from. */
  private readonly leafRanges: Int32Array;
  /** The histogram slots (byte addresses) and values of the leaves a root is carried from. */
  private readonly carriedLeaves: { bases: Int32Array; values: Float64Array };
  /** The residual loss's scores, target and leaf values, when the trainer keeps them here. */
  private readonly residual: {
    scores: ResidualScores;
    target: number;
    leafValues: Float64Array;
  } | null;

  /**
   * @param binned the binned data; its bins move into the grower's kernel memory (`binned.bins` is
   *   replaced by the copy there, so binning's kernel memory can be collected)
   * @param unitHessian every hessian is 1 (squared and absolute error): hessians are never read
   * @param threads total threads for histograms (>1 starts worker threads)
   * @param tuning speed trade-offs (see GrowerTuning)
   * @param residualTarget the target of a loss whose gradient is the residual (squared error), for
   *   trees grown on every row: the grower then keeps the training scores (`residualScores`) and adds
   *   each tree to them (`addTreeToResiduals`)
   */
  constructor(
    private readonly binned: BinnedData,
    private readonly params: GrowParams,
    private readonly unitHessian: boolean,
    threads: number,
    tuning: Partial<GrowerTuning> = {},
    residualTarget: Float64Array | null = null,
  ) {
    this.tuning = { ...DEFAULT_TUNING, ...tuning };
    const n = binned.rowCount;
    this.stride = binStride(unitHessian);
    this.slotSize = binned.totalBins * this.stride;
    const depthLeaves = params.maxDepth >= 0 ? 2 ** Math.min(params.maxDepth, 30) : Infinity;
    const needed = Math.min(params.maxLeaves, depthLeaves, Math.floor(n / params.minSamplesLeaf)) + 1;
    const affordable = Math.floor(this.tuning.histogramBudgetBytes / (this.slotSize * 8));
    this.slotCount = Math.max(3, Math.min(needed, affordable));
    this.moveGradients = n > this.tuning.gatherMaxRows;
    // A tree has a leaf at least, even on fewer rows than a leaf needs.
    const treeLeaves = Math.max(1, needed - 1);
    const leafIndexBytes = treeLeaves <= MAX_16_BIT_LEAVES ? 2 : 4;
    const keepResiduals = residualTarget !== null && unitHessian && leafIndexBytes === 2;
    // Every shared buffer lives in the kernel's memory: reserve them all, then create it.
    const featureCount = binned.features.length;
    const binBytes = binned.bins.BYTES_PER_ELEMENT;
    // The most bins a feature has, its missing bin included.
    const widestFeature = Math.max(1, ...binned.features.map((binning) => binning.missingBin + 1));
    const arena = new KernelArena();
    const at = {
      bins: arena.reserve(n * featureCount * binBytes),
      rows: arena.reserve(n * 4),
      grad: arena.reserve(n * 8),
      hess: arena.reserve(unitHessian ? 0 : n * 8),
      hist: arena.reserve(this.slotCount * this.slotSize * 8),
      allRowCounts: arena.reserve(unitHessian ? this.slotSize * 8 : 0),
      plan: arena.reserve(featureCount * 8),
      featureList: arena.reserve(featureCount * 4),
      binOffset: arena.reserve(binned.binOffset.length * 4),
      missingBins: arena.reserve(featureCount * 4),
      job: arena.reserve(JOB.size * 4),
      jobValues: arena.reserve(JOB_VALUES.size * 8),
      results: arena.reserve(maxShares(featureCount, threads) * 2 * RESULT_SIZE * 8),
      raw: arena.reserve(keepResiduals ? n * 8 : 0),
      target: arena.reserve(keepResiduals ? n * 8 : 0),
      // With gradients moving along with the rows, the trees grow on `grad` above (node order
      // after a tree: the pass below writes them back in row order).
      residualGrad: arena.reserve(keepResiduals && !this.moveGradients ? n * 8 : 0),
      leafValues: arena.reserve(keepResiduals ? treeLeaves * 8 : 0),
      leafOfRows: arena.reserve(n * leafIndexBytes),
      leafRanges: arena.reserve(treeLeaves * 8),
      carriedLeafBases: arena.reserve(unitHessian ? treeLeaves * 4 : 0),
      carriedLeafValues: arena.reserve(unitHessian ? treeLeaves * 8 : 0),
      goesLeft: arena.reserve(widestFeature),
    };
    // Partition scratch: every row for this thread, a chunk for each worker thread.
    const partitionChunk = Math.ceil(n / threads) + 1;
    const partitionScratch: number[] = [];
    for (let thread = 0; thread < threads; thread++) {
      const rows = thread === 0 ? n : partitionChunk;
      partitionScratch.push(
        arena.reserve(rows * 4),
        arena.reserve(rows * 8),
        arena.reserve(unitHessian ? 0 : rows * 8),
      );
    }
    const memory = arena.shared();
    const module = kernelModule();
    this.kernel = instantiateKernel(module, memory);
    const f64 = (address: number, length: number) => new Float64Array(memory.buffer, address, length);
    const i32 = (address: number, length: number) => new Int32Array(memory.buffer, address, length);
    const bins =
      binBytes === 1
        ? new Uint8Array(memory.buffer, at.bins, n * featureCount)
        : new Uint16Array(memory.buffer, at.bins, n * featureCount);
    bins.set(binned.bins);
    // The caller's data reads the copy from now on, so binning's memory can be collected.
    binned.bins = bins;
    this.rows = new Uint32Array(memory.buffer, at.rows, n);
    this.goesLeft = new Uint8Array(memory.buffer, at.goesLeft, widestFeature);
    this.leafOfRows =
      leafIndexBytes === 2
        ? new Uint16Array(memory.buffer, at.leafOfRows, n)
        : new Uint32Array(memory.buffer, at.leafOfRows, n);
    this.leafRanges = i32(at.leafRanges, 2 * treeLeaves);
    this.carriedLeaves = {
      bases: i32(at.carriedLeafBases, unitHessian ? treeLeaves : 0),
      values: f64(at.carriedLeafValues, unitHessian ? treeLeaves : 0),
    };
    const [rowScratchAt, gradScratchAt, hessScratchAt] = partitionScratch as [number, number, number];
    this.scratch = new Uint32Array(memory.buffer, rowScratchAt, n);
    this.gradScratch = f64(gradScratchAt, n);
    this.hessScratch = f64(hessScratchAt, unitHessian ? 0 : n);
    this.buffers = {
      memory,
      module,
      bins,
      binBytes,
      plan: i32(at.plan, 2 * featureCount),
      rowCount: n,
      rows: this.rows,
      grad: f64(at.grad, n),
      hess: f64(at.hess, unitHessian ? 0 : n),
      hist: f64(at.hist, this.slotCount * this.slotSize),
      allRowCounts: f64(at.allRowCounts, unitHessian ? this.slotSize : 0),
      featureList: i32(at.featureList, featureCount),
      binOffset: i32(at.binOffset, binned.binOffset.length),
      missingBins: i32(at.missingBins, featureCount),
      job: i32(at.job, JOB.size),
      jobValues: f64(at.jobValues, JOB_VALUES.size),
      results: f64(at.results, maxShares(featureCount, threads) * 2 * RESULT_SIZE),
      partitionScratch,
      partitionChunk,
    };
    const { binOffset, missingBins, jobValues, allRowCounts } = this.buffers;
    if (unitHessian) countAllRows(binned, this.stride, allRowCounts);
    binOffset.set(binned.binOffset);
    binned.features.forEach((binning, f) => (missingBins[f] = binning.missingBin));
    jobValues[JOB_VALUES.l2] = params.l2;
    jobValues[JOB_VALUES.minSamplesLeaf] = params.minSamplesLeaf;
    jobValues[JOB_VALUES.minHessianLeaf] = params.minHessianLeaf;
    jobValues[JOB_VALUES.minGain] = params.minGain;
    this.buffers.job[JOB.partitionMovesGradients] = this.moveGradients ? 1 : 0;
    this.residual = null;
    if (keepResiduals) {
      const target = f64(at.target, n);
      target.set(residualTarget);
      this.residual = {
        scores: {
          raw: f64(at.raw, n),
          grad: this.moveGradients ? this.buffers.grad : f64(at.residualGrad, n),
        },
        target: at.target,
        leafValues: f64(at.leafValues, treeLeaves),
      };
    }
    if (threads > 1) this.workers = HistogramWorkers.start(threads - 1, this.buffers);
  }

  /**
   * The training scores and gradients of the residual loss whose target the grower was given (null
   * when it was not, or when trees may have more leaves than the leaf index holds): fill `raw` with
   * the base score and `grad` with the first gradients, grow every tree on `grad`, and add each tree
   * with `addTreeToResiduals`.
   */
  get residualScores(): ResidualScores | null {
    return this.residual?.scores ?? null;
  }

  /**
   * Adds a tree grown on every row to the residual scores: each row's score gains its leaf's value
   * (`leafValues[i]` for `tree.leaves[i]`) and its gradient becomes score minus target, in the kernel.
   * Returns the mean squared residual after the tree (the training loss).
   */
  addTreeToResiduals(tree: GrownTree, leafValues: readonly number[]): number {
    const residual = this.residual;
    if (!residual || !this.allRows) {
      throw new Error(
        'GBDT internal error: residual scores need a grower given the target and a tree on every row',
      );
    }
    // A 16-bit leaf index, as the score pass reads it: the grower keeps residual scores only then.
    const leafOfRows = this.leafOfTrainingRows(tree);
    const values = residual.leafValues;
    values.set(leafValues);
    const n = this.binned.rowCount;
    const { raw, grad } = residual.scores;
    const squares = this.kernel.addLeafValues(
      leafOfRows.byteOffset,
      values.byteOffset,
      raw.byteOffset,
      residual.target,
      grad.byteOffset,
      0,
      n,
    );
    return n > 0 ? squares / n : 0;
  }

  /**
   * Each training row's leaf in a tree just grown on every row (`leafOfRows[row]` indexes
   * `tree.leaves`), marked in the kernel from the leaves' row ranges. A small array whose random
   * writes stay in cache: the scores are then updated in one sequential pass, rather than a random
   * read-modify-write of a score per row. A view of the grower's memory: the next call overwrites it.
   */
  leafOfTrainingRows(tree: GrownTree): LeafOfRows {
    const ranges = this.leafRanges;
    const leafCount = tree.leaves.length;
    if (!this.allRows || leafCount > ranges.length / 2) {
      throw new Error(
        `GBDT internal error: the leaf of every row needs a tree on every row, of at most ${ranges.length / 2} leaves (not ${leafCount})`,
      );
    }
    tree.leaves.forEach((leaf, i) => {
      ranges[2 * i] = leaf.start;
      ranges[2 * i + 1] = leaf.count;
    });
    const leafOfRows = this.leafOfRows;
    this.kernel.markLeaves(
      this.rows.byteOffset,
      ranges.byteOffset,
      leafCount,
      leafOfRows.byteOffset,
      leafOfRows.BYTES_PER_ELEMENT,
    );
    return leafOfRows;
  }

  /**
   * The grower's own gradient and hessian arrays (every row long), when a tree on all rows may be
   * given them to skip copying them in: gradients computed straight into them save a pass over the
   * rows per tree. Null on small data, where nodes gather from the caller's arrays instead. Growing
   * permutes their contents (they move with the rows): refill them before every tree.
   */
  get gradientArrays(): { grad: Float64Array; hess: Float64Array } | null {
    return this.moveGradients ? { grad: this.buffers.grad, hess: this.buffers.hess } : null;
  }

  /** Threads actually building histograms (1 when worker threads were not wanted or did not start). */
  get threadCount(): number {
    return this.workers?.threadCount ?? 1;
  }

  /** Stops the worker threads. */
  close(): void {
    this.workers?.close();
    this.workers = null;
  }

  /**
   * Grows a tree from the rows' gradients and hessians (`hess` unused for unit hessians) on the rows
   * `sample` (all rows when null) using features `features` (ascending).
   */
  grow(
    grad: Float64Array,
    hess: Float64Array,
    sample: Uint32Array | null,
    features: readonly number[],
  ): GrownTree {
    const n = this.binned.rowCount;
    const count = sample ? sample.length : n;
    const b = this.buffers;
    this.grad = grad;
    this.hess = hess;
    this.allRows = sample === null;
    // A node's gradients sit beside its rows, in b.grad[start..start+count).
    if (sample) {
      if (grad === b.grad || hess === b.hess) {
        throw new Error(
          'GBDT internal error: a sampled tree cannot grow on the gradient arrays of the grower',
        );
      }
      this.rows.set(sample);
      gather(this.rows, 0, count, grad, b.grad);
      if (!this.unitHessian) gather(this.rows, 0, count, hess, b.hess);
    } else {
      this.kernel.fillIdentity(this.rows.byteOffset, n);
      if (grad !== b.grad) b.grad.set(grad);
      if (!this.unitHessian && hess !== b.hess) b.hess.set(hess);
    }
    this.listLength = 0;
    this.categoryFeatures = [];
    for (const feature of features) {
      // A constant feature without missing rows cannot split: skip its histograms.
      const binning = this.binned.features[feature];
      if (binning && canSplitOn(binning)) {
        this.buffers.featureList[this.listLength++] = feature;
        if (binning.categoryBins) this.categoryFeatures.push(feature);
      }
    }
    // A root histogram carried over from the last tree serves a tree on every row over the same features.
    const carried =
      this.carriedRoot >= 0 &&
      sample === null &&
      sameFeatures(this.carriedFeatures, b.featureList, this.listLength)
        ? this.carriedRoot
        : -1;
    this.carriedRoot = -1;
    this.freeSlots.length = 0;
    for (let slot = this.slotCount - 1; slot >= 0; slot--) if (slot !== carried) this.freeSlots.push(slot);
    this.tree = emptyTree();
    this.open = [];

    const root: OpenLeaf = {
      node: this.addNode(),
      start: 0,
      count,
      grad: this.kernel.sumInOrder(b.grad.byteOffset, count),
      hess: this.unitHessian ? count : this.kernel.sumInOrder(b.hess.byteOffset, count),
      depth: 0,
      slot: -1,
      split: null,
    };
    if (this.canSplit(root)) {
      if (carried >= 0) {
        root.slot = carried;
        this.runJob(root, -1, root, null, false);
      } else {
        root.slot = this.takeSlot();
        this.runJob(root, -1, root, null);
      }
    }
    this.open.push(root);

    while (this.open.length < this.params.maxLeaves) {
      const index = this.pickLeaf();
      if (index < 0) break;
      const leaf = this.open[index] as OpenLeaf;
      this.open.splice(index, 1);
      this.open.push(...this.splitLeaf(leaf));
    }
    for (const leaf of this.open) {
      const { node, start, count, grad, hess } = leaf;
      this.tree.leaves.push({ node, start, count, grad, hess });
    }
    this.tree.leaves.sort((a, b) => a.node - b.node);
    return this.tree;
  }

  /**
   * Prepares the next tree's root histogram from the tree just grown, for a loss whose gradient is the
   * residual (LossFunction.gradientIsResidual): the caller adds `leafValues[i]` to the scores of the
   * rows of `tree.leaves[i]`, which moves each row's gradient by that value, so the root's gradient
   * sum in a bin is the sum over the leaves of their own sum plus value times count (histogram.ts,
   * carriedRootHistogram); a leaf without a histogram adds its rows' gradients, moved by its value,
   * one by one. It reads the gradients the tree grew on: call it before changing them. The next
   * `grow` uses it when it grows on every row over the same features; otherwise it builds its root as
   * usual.
   *
   * Returns false (and the next root is built as usual) when the tree did not grow on every row, the
   * hessians are not unit, or no histogram slot is free for the root.
   */
  carryRoot(tree: GrownTree, leafValues: readonly number[]): boolean {
    this.carriedRoot = -1;
    if (!this.allRows || !this.unitHessian || this.listLength === 0) return false;
    const root = this.freeSlots.pop();
    if (root === undefined) return false;
    const valueOfNode = valueOfNodes(tree, leafValues);
    // Leaves in node order: the same sums whatever order they were split in.
    const leaves = [...this.open].sort((a, c) => a.node - c.node);
    const b = this.buffers;
    const { bases, values } = this.carriedLeaves;
    if (leaves.length > bases.length) {
      throw new Error(`GBDT internal error: a tree of ${leaves.length} leaves, over the grower's bound`);
    }
    let withHistogram = 0;
    for (const leaf of leaves) {
      if (leaf.slot < 0) continue;
      bases[withHistogram] = b.hist.byteOffset + leaf.slot * this.slotSize * 8;
      values[withHistogram++] = valueOfNode[leaf.node] as number;
    }
    const rootBase = root * this.slotSize;
    carriedRootHistogram(b, this.kernel, bases, values, withHistogram, rootBase, this.listLength);
    // Leaves without a histogram (too small to split, or evicted) add their rows one by one.
    for (const leaf of leaves) {
      if (leaf.slot >= 0) continue;
      addLeafRows(
        this.binned,
        this.rows,
        leaf.start,
        leaf.count,
        this.moveGradients ? b.grad : this.grad,
        this.moveGradients,
        valueOfNode[leaf.node] as number,
        b.hist,
        rootBase,
        b.featureList,
        this.listLength,
      );
    }
    this.carriedRoot = root;
    this.carriedFeatures = b.featureList.slice(0, this.listLength);
    return true;
  }

  private addNode(): number {
    const tree = this.tree;
    tree.feature.push(-1);
    tree.bin.push(0);
    tree.missingLeft.push(false);
    tree.left.push(-1);
    tree.right.push(-1);
    tree.gain.push(0);
    tree.leftBins.push(null);
    return tree.feature.length - 1;
  }

  private canSplit(leaf: OpenLeaf): boolean {
    const { minSamplesLeaf, minHessianLeaf, maxDepth } = this.params;
    return (
      this.listLength > 0 &&
      leaf.count >= 2 * minSamplesLeaf &&
      leaf.hess >= 2 * minHessianLeaf &&
      (maxDepth < 0 || leaf.depth < maxDepth)
    );
  }

  /** Next leaf to split: best gain (leaf-wise) or shallowest (depth-wise); ties go to the older node. */
  private pickLeaf(): number {
    const leafwise = this.params.growth === 'leafwise';
    let best: OpenLeaf | undefined;
    let bestIndex = -1;
    this.open.forEach((leaf, i) => {
      if (!leaf.split) return;
      const better =
        !best?.split ||
        (leafwise
          ? leaf.split.gain > best.split.gain ||
            (leaf.split.gain === best.split.gain && leaf.node < best.node)
          : leaf.depth < best.depth || (leaf.depth === best.depth && leaf.node < best.node));
      if (better) {
        best = leaf;
        bestIndex = i;
      }
    });
    return bestIndex;
  }

  /**
   * One histogram job: build `build`'s histogram in its slot (unless `builds` is false: it is there
   * already), subtract it from slot `subtractFrom` (unless -1), which becomes the sibling's, then
   * search the leaves `first` and `second` (with histograms) for their best splits. Large nodes run
   * on all threads.
   */
  private runJob(
    build: OpenLeaf,
    subtractFrom: number,
    first: OpenLeaf | null,
    second: OpenLeaf | null,
    builds = true,
  ): void {
    const b = this.buffers;
    const { job, jobValues } = b;
    const { start, count } = build;
    if (builds && !this.moveGradients && build.node !== 0) {
      gather(this.rows, start, count, this.grad, b.grad);
      if (!this.unitHessian) gather(this.rows, start, count, this.hess, b.hess);
    }
    job[JOB.stride] = this.stride;
    job[JOB.buildStart] = start;
    job[JOB.buildCount] = count;
    job[JOB.buildAllRows] = build.node === 0 && this.allRows ? 1 : 0;
    job[JOB.buildBase] = builds ? build.slot * this.slotSize : -1;
    job[JOB.subtractParent] = subtractFrom * this.slotSize;
    job[JOB.subtractChild] = subtractFrom >= 0 ? build.slot * this.slotSize : -1;
    [first, second].forEach((leaf, search) => {
      job[JOB.find + search] = leaf ? leaf.slot * this.slotSize : -1;
      jobValues[JOB_VALUES.sums + 3 * search] = leaf?.grad ?? 0;
      jobValues[JOB_VALUES.sums + 3 * search + 1] = leaf?.hess ?? 0;
      jobValues[JOB_VALUES.sums + 3 * search + 2] = leaf?.count ?? 0;
    });
    const workers = builds && count >= this.tuning.parallelMinRows ? this.workers : null;
    // A job that builds nothing (subtraction and search only) is one share on this thread.
    const shares = builds ? sharesFor(this.listLength, count, workers?.threadCount ?? 1) : 1;
    if (workers) {
      workers.run(this.listLength, shares, b, this.kernel);
    } else {
      shareJob(b, this.listLength, shares);
      runShares(b, this.kernel, SHARE_STEPS);
    }
    [first, second].forEach((leaf, search) => {
      if (!leaf) return;
      leaf.split = this.withCategorySplit(mergeSplits(b.results, shares, search, leaf), leaf);
      // A leaf that cannot split will never need its histogram again.
      if (!leaf.split) this.releaseSlot(leaf);
    });
  }

  /** The node's best split: `split` (a threshold), or a category split whose gain beats it strictly. */
  private withCategorySplit(split: Split | null, leaf: OpenLeaf): Split | null {
    if (!this.params.categorySplits) return split;
    let best: Split | null = split;
    for (const feature of this.categoryFeatures) {
      const binning = this.binned.features[feature] as FeatureBinning;
      const first = leaf.slot * this.slotSize + (this.buffers.binOffset[feature] as number) * this.stride;
      const minGain = Math.max(this.params.minGain, best?.gain ?? -Infinity);
      const candidate = bestCategorySplit(
        this.buffers.hist,
        first,
        this.stride,
        binning.missingBin,
        feature,
        leaf,
        this.params,
        minGain,
      );
      if (candidate) best = candidate;
    }
    return best;
  }

  private splitLeaf(leaf: OpenLeaf): [OpenLeaf, OpenLeaf] {
    const split = leaf.split as Split;
    const leftCount = this.partition(leaf, split);
    if (leftCount !== split.leftCount)
      throw new Error('GBDT internal error: partition disagrees with histogram');
    const tree = this.tree;
    const leftNode = this.addNode();
    const rightNode = this.addNode();
    tree.feature[leaf.node] = split.feature;
    tree.bin[leaf.node] = split.bin;
    tree.missingLeft[leaf.node] = split.missingLeft;
    tree.left[leaf.node] = leftNode;
    tree.right[leaf.node] = rightNode;
    tree.gain[leaf.node] = split.gain;
    tree.leftBins[leaf.node] = split.leftBins;
    const depth = leaf.depth + 1;
    const left: OpenLeaf = {
      node: leftNode,
      start: leaf.start,
      count: leftCount,
      grad: split.leftGrad,
      hess: split.leftHess,
      depth,
      slot: -1,
      split: null,
    };
    const right: OpenLeaf = {
      node: rightNode,
      start: leaf.start + leftCount,
      count: split.rightCount,
      grad: split.rightGrad,
      hess: split.rightHess,
      depth,
      slot: -1,
      split: null,
    };
    const [small, large] = left.count <= right.count ? [left, right] : [right, left];
    const smallSplits = this.canSplit(small);
    const largeSplits = this.canSplit(large);
    if (leaf.slot >= 0 && largeSplits) {
      // Build the smaller child; the parent's slot becomes the larger child's by subtraction.
      small.slot = this.takeSlot();
      large.slot = leaf.slot;
      this.runJob(small, large.slot, smallSplits ? small : null, large);
      if (small.slot >= 0 && !smallSplits) this.releaseSlot(small);
    } else {
      // No parent histogram to subtract from (evicted), or only the smaller child can split.
      if (leaf.slot >= 0) this.releaseSlot(leaf);
      for (const [node, splits] of [
        [small, smallSplits],
        [large, largeSplits],
      ] as const) {
        if (!splits) continue;
        node.slot = this.takeSlot();
        this.runJob(node, -1, node, null);
      }
    }
    return [left, right];
  }

  /**
   * Partitions the leaf's rows by its split (on all threads for large leaves); returns how many go
   * left. The split becomes a table of its feature's bins going left: value bins up to a threshold
   * and the missing bin when missing values go left, or a category split's set (its missing values,
   * rare and unseen categories going right).
   */
  private partition(leaf: OpenLeaf, split: Split): number {
    const { job } = this.buffers;
    const missingBin = (this.binned.features[split.feature] as { missingBin: number }).missingBin;
    const table = this.goesLeft;
    if (split.leftBins) {
      table.set(split.leftBins);
      table[missingBin] = 0;
    } else {
      table.fill(1, 0, split.bin + 1);
      table.fill(0, split.bin + 1, missingBin);
      table[missingBin] = split.missingLeft ? 1 : 0;
    }
    job[JOB.partitionBinAt] = split.feature * this.binned.rowCount * this.buffers.binBytes;
    job[JOB.partitionGoesLeft] = table.byteOffset;
    if (this.workers && leaf.count >= this.tuning.parallelPartitionMinRows) {
      return this.workers.partition(
        leaf.start,
        leaf.count,
        this.buffers,
        this.kernel,
        this.scratch,
        this.gradScratch,
        this.hessScratch,
      );
    }
    return partitionRows(this.buffers, this.kernel, 0, leaf.start, leaf.count, 0);
  }

  private takeSlot(): number {
    const slot = this.freeSlots.pop();
    if (slot !== undefined) return slot;
    // Out of histogram memory: drop the histogram of the open leaf with the fewest rows. Its split
    // is known already; if it is split later its children are built directly instead of subtracted.
    let victim: OpenLeaf | undefined;
    for (const leaf of this.open) {
      if (leaf.slot >= 0 && (!victim || leaf.count < victim.count)) victim = leaf;
    }
    if (!victim) throw new Error('GBDT internal error: no histogram slot to reuse');
    const reused = victim.slot;
    victim.slot = -1;
    return reused;
  }

  private releaseSlot(leaf: OpenLeaf): void {
    this.freeSlots.push(leaf.slot);
    leaf.slot = -1;
  }
}

/** Whether `list[0..length)` holds exactly `features`. */
function sameFeatures(features: Int32Array, list: Int32Array, length: number): boolean {
  if (features.length !== length) return false;
  for (let k = 0; k < length; k++) if (features[k] !== list[k]) return false;
  return true;
}

function emptyTree(): GrownTree {
  return { feature: [], bin: [], missingLeft: [], left: [], right: [], gain: [], leftBins: [], leaves: [] };
}
