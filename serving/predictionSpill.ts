/**
 * The prediction log's overflow to disk: when more predictions wait than the log keeps in memory
 * (PostgreSQL slower than serving, or away for a while), the newest are encoded to their COPY lines
 * and appended to a file, and written from there in big COPY batches as PostgreSQL catches up. Memory
 * stays bounded, no request waits for the disk, and a prediction is dropped only when the file has
 * reached its limit or the disk refuses it. The file lives as long as the process, in a fresh folder
 * under the OS's temporary folder unless told otherwise, and is removed when the log closes.
 */
import { type FileHandle, mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** A run of whole lines read from the spill: written with one COPY, then `commit`ted. */
export interface SpilledChunk {
  text: Buffer;
  rows: number;
  bytes: number;
}

const NEWLINE = 0x0a;

function countLines(buffer: Buffer, end: number): number {
  let rows = 0;
  for (let at = buffer.indexOf(NEWLINE); at >= 0 && at < end; at = buffer.indexOf(NEWLINE, at + 1)) rows += 1;
  return rows;
}

export class PredictionSpill {
  private file: Promise<FileHandle> | undefined;
  private folder: string | undefined;
  /** Appends, truncations and the close, one after the other. */
  private chain: Promise<void> = Promise.resolve();
  /** Bytes on disk, from the start of the file. */
  private end = 0;
  /** Where the next chunk starts: the bytes before it are written to PostgreSQL. */
  private readAt = 0;
  /** Bytes handed to `append` and not on disk yet. */
  private queuedBytes = 0;
  private heldRows = 0;

  /**
   * @param directory where the spill file's folder is made (undefined: the OS's temporary folder)
   * @param maxBytes the most bytes the file holds
   * @param onLost told of rows the disk refused (they are not held any more)
   */
  constructor(
    private readonly directory: string | undefined,
    private readonly maxBytes: number,
    private readonly onLost: (rows: number, error: unknown) => void,
  ) {}

  /** Rows held (on disk or on their way), not yet taken by a committed chunk. */
  get rows(): number {
    return this.heldRows;
  }

  /**
   * Appends rows' COPY lines (each ending in a newline), without waiting for the disk.
   *
   * @returns false, holding nothing, when they would take the file past its limit
   */
  append(lines: readonly string[]): boolean {
    if (lines.length === 0) return true;
    const text = Buffer.from(lines.join(''), 'utf8');
    if (this.end - this.readAt + this.queuedBytes + text.length > this.maxBytes) return false;
    this.queuedBytes += text.length;
    this.heldRows += lines.length;
    this.chain = this.chain.then(async () => {
      try {
        const handle = await this.open();
        await handle.write(text, 0, text.length, this.end);
        this.end += text.length;
      } catch (error) {
        this.heldRows -= lines.length;
        this.onLost(lines.length, error);
      } finally {
        this.queuedBytes -= text.length;
      }
    });
    return true;
  }

  /**
   * Reads the next whole lines on disk, about `maxBytes` of them (more when one line is longer).
   *
   * @returns undefined when nothing is on disk yet
   */
  async read(maxBytes: number): Promise<SpilledChunk | undefined> {
    const file = this.file;
    if (!file || this.readAt >= this.end) return undefined;
    const handle = await file;
    let size = Math.min(maxBytes, this.end - this.readAt);
    for (;;) {
      const text = Buffer.allocUnsafe(size);
      const { bytesRead } = await handle.read(text, 0, size, this.readAt);
      if (bytesRead === 0) return undefined;
      const last = text.lastIndexOf(NEWLINE, bytesRead - 1);
      if (last >= 0) {
        const bytes = last + 1;
        return { text: text.subarray(0, bytes), rows: countLines(text, bytes), bytes };
      }
      // A line longer than the chunk (or not wholly on disk yet): read more of it.
      if (this.readAt + size >= this.end) return undefined;
      size = Math.min(size * 2, this.end - this.readAt);
    }
  }

  /** Resolves once every append so far is on disk (or refused). */
  onDisk(): Promise<void> {
    return this.chain;
  }

  /** Marks a chunk as written; once everything is, the file starts again from empty. */
  commit(chunk: SpilledChunk): void {
    this.readAt += chunk.bytes;
    this.heldRows -= chunk.rows;
    if (this.readAt === this.end && this.queuedBytes === 0 && this.file) {
      this.readAt = 0;
      this.end = 0;
      const file = this.file;
      // Before any later append, which writes from the start again.
      this.chain = this.chain.then(async () => (await file).truncate(0)).catch(() => undefined);
    }
  }

  /** Closes and removes the file; what it still holds is lost (the log counts it). */
  async close(): Promise<void> {
    await this.chain;
    const file = this.file;
    this.file = undefined;
    this.heldRows = 0;
    if (file) await (await file).close().catch(() => undefined);
    if (this.folder) await rm(this.folder, { recursive: true, force: true });
  }

  private open(): Promise<FileHandle> {
    this.file ??= (async () => {
      const parent = this.directory ?? os.tmpdir();
      await mkdir(parent, { recursive: true });
      this.folder = await mkdtemp(path.join(parent, 'kerf-prediction-spill-'));
      return open(path.join(this.folder, 'predictions.copy'), 'w+', 0o600);
    })();
    // A failed open is tried again at the next append.
    this.file.catch(() => {
      this.file = undefined;
    });
    return this.file;
  }
}
