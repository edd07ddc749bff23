/**
 * The versions a worker scores batches with, loaded as serving loads them (`loadVersion`: the
 * manifest's signature checked against the trusted keys and the ONNX file against the manifest's
 * SHA-256 before onnxruntime sees a byte) and kept for the chunks that follow, so a version is
 * verified once per worker, not once per chunk. Chunks score in threads of the version's own
 * (`ThreadScorer`), started on bytes whose SHA-256 is the verified one. Forecast models and models
 * with history features do not score staged rows and are refused.
 */
import { sha256Hex } from '../../lifecycle/manifest';
import {
  type LoadedVersion,
  loadVersion,
  type LoadVersionDeps,
  ModelLoadRefusedError,
} from '../../serving/loadVersion';
import type { BatchVersion } from '../../serving/batch/table';
import { ThreadScorer } from '../../serving/batch/threadScorer';

/** Versions kept loaded per worker beyond those in use; the least recently used goes first. */
const KEPT_VERSIONS = 2;

/** A version batch scoring cannot use, with what to do. */
class UnscorableVersionError extends Error {
  override readonly name = 'UnscorableVersionError';
}

/** A loaded version, its verified bytes, and the scoring threads idle on them. */
interface Kept {
  loading: Promise<{ loaded: LoadedVersion; onnx: Uint8Array }>;
  idle: ThreadScorer[];
  /** Chunks using it now: it is released only once none is and it has left the cache. */
  users: number;
  cached: boolean;
}

/** A version as a chunk scores with it: its own thread, on the verified bytes. */
export type ScoringVersion = Omit<LoadedVersion, 'scorer'> & BatchVersion;

export class ScoringVersions {
  private readonly kept = new Map<string, Kept>();

  constructor(private readonly deps: LoadVersionDeps) {}

  /**
   * Runs `work` with the version, verified and loaded.
   *
   * @throws ModelLoadRefusedError when it was not loaded (see `refusalOf`); UnscorableVersionError
   *   for a forecast model or one with history features
   */
  async verified<T>(model: string, version: number, work: (loaded: LoadedVersion) => Promise<T>): Promise<T> {
    const entry = this.enter(model, version);
    try {
      return await work((await entry.loading).loaded);
    } finally {
      this.leave(entry);
    }
  }

  /** Runs `work` with the version and a scoring thread of its own (started, or idle since a chunk before). */
  async scoring<T>(
    model: string,
    version: number,
    work: (scoring: ScoringVersion) => Promise<T>,
  ): Promise<T> {
    const entry = this.enter(model, version);
    try {
      const { loaded, onnx } = await entry.loading;
      const thread = entry.idle.pop() ?? (await ThreadScorer.start(onnx, loaded.scorer.metadata));
      try {
        return await work({ ...loaded, scorer: thread });
      } finally {
        if (entry.cached) entry.idle.push(thread);
        else await thread.release();
      }
    } finally {
      this.leave(entry);
    }
  }

  /**
   * Why a load failure refuses the run (a tampered or missing artifact, a model batch scoring cannot
   * use), or undefined for one worth retrying (the store or the database away).
   */
  refusalOf(error: unknown): string | undefined {
    if (error instanceof UnscorableVersionError) return `model: ${error.message}`;
    if (error instanceof ModelLoadRefusedError && !error.retryable) {
      return `version: ${error.message} (${error.reason}); nothing was scored`;
    }
    return undefined;
  }

  private enter(model: string, version: number): Kept {
    const key = `${model}\u0000${version}`;
    let entry = this.kept.get(key);
    if (entry) {
      // Most recently used last.
      this.kept.delete(key);
    } else {
      const created: Kept = { loading: this.load(model, version), idle: [], users: 0, cached: true };
      // A failed load is not kept: the store or the database may answer next time.
      created.loading.catch(() => {
        if (this.kept.get(key) === created) this.kept.delete(key);
        created.cached = false;
      });
      entry = created;
    }
    this.kept.set(key, entry);
    entry.users++;
    this.evict();
    return entry;
  }

  private leave(entry: Kept): void {
    entry.users--;
    if (!entry.cached && entry.users === 0) release(entry);
  }

  private async load(model: string, version: number): Promise<{ loaded: LoadedVersion; onnx: Uint8Array }> {
    const loaded = await loadVersion(this.deps, model, version, { sessionOptions: { intraOpNumThreads: 1 } });
    try {
      if (loaded.forecast) {
        throw new UnscorableVersionError(
          `${model} is a forecast model: it forecasts periods by series (kerf forecast), it does not score rows`,
        );
      }
      if (loaded.featureBuild?.build.definition.history) {
        throw new UnscorableVersionError(
          `${model} v${version} takes history features, which batch scoring does not compute yet: score its rows through the prediction API`,
        );
      }
      // The threads get the bytes loadVersion verified: the same SHA-256, or none at all.
      const onnx = await this.deps.objectStore.get(loaded.onnxKey);
      if (sha256Hex(onnx) !== loaded.onnxSha256) {
        throw new ModelLoadRefusedError(
          'onnx-hash-mismatch',
          `${model} v${version}'s ONNX file changed after it was verified; nothing was scored with it`,
        );
      }
      return { loaded, onnx };
    } catch (error) {
      await loaded.scorer.release();
      throw error;
    }
  }

  private evict(): void {
    for (const [key, entry] of this.kept) {
      if (this.kept.size <= KEPT_VERSIONS) return;
      this.kept.delete(key);
      entry.cached = false;
      if (entry.users === 0) release(entry);
    }
  }
}

function release(entry: Kept): void {
  for (const thread of entry.idle.splice(0)) void thread.release();
  void entry.loading.then(
    ({ loaded }) => loaded.scorer.release(),
    () => undefined,
  );
}
