/**
 * A snapshot's bytes on their way to S3, hashed as they pass. Its key names its SHA-256, known only
 * once the last byte is written, so the bytes cannot go to that key as they come:
 *
 * - a snapshot smaller than one part is kept until the end and written to its content key with one
 *   conditional PUT (`putOnce`), as before;
 * - a larger one goes up as a multipart upload to a staging key of its own (`<prefix>-staging/...`),
 *   a part while the next is filled; once complete it is copied to its content key (unless that is
 *   there already) and the staging object removed.
 *
 * Nothing is ever written under a content key but the whole file: an upload stopped midway is
 * aborted (its parts dropped; a killed process leaves only parts of an upload never completed, which
 * make no object), and a staging object left by a process killed between completion and copy is
 * outside the snapshots' folder.
 */
import { createHash, randomUUID } from 'node:crypto';
import { MIN_PART_BYTES, type MultipartUpload, type ObjectStore } from '../../platform/objectStore';

/** The object-store operations a snapshot upload uses. */
export type UploadStore = Pick<ObjectStore, 'putOnce' | 'startUpload' | 'copyOnce' | 'delete'>;

/** Bytes per part: S3's minimum is 5 MiB; two part buffers are held, whatever the snapshot's size. */
export const PART_BYTES = 8 * 1024 * 1024;

/**
 * The folder snapshots go up to before their hash is known: beside the snapshots' folder, not in it.
 * Garbage collection (`retention/staging.ts`) clears what a stopped process left there.
 */
export function stagingPrefix(keyPrefix: string): string {
  return `${keyPrefix.replace(/\/+$/, '')}-staging/`;
}

/** Where one snapshot goes up before its hash is known. */
export function stagingKey(keyPrefix: string, pipeline: string): string {
  return `${stagingPrefix(keyPrefix)}${pipeline}/${randomUUID()}.arrow`;
}

/** One snapshot's upload: `write` its chunks in order, then `finish` (or `abort`). */
export class SnapshotUpload {
  readonly #hash = createHash('sha256');
  #bytes = 0;
  /** Two part buffers, reused: one being filled while the other goes up. */
  readonly #buffers: Buffer[];
  #filling = 0;
  #filled = 0;
  #upload: Promise<MultipartUpload> | undefined;
  /** The part being uploaded, awaited before its buffer is filled again. */
  #sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: UploadStore,
    private readonly staging: string,
    private readonly contentType: string,
    private readonly partBytes = PART_BYTES,
  ) {
    if (partBytes < MIN_PART_BYTES) throw new RangeError(`parts must be at least ${MIN_PART_BYTES} bytes`);
    // The first buffer grows with the snapshot: a small one does not hold a part's worth.
    this.#buffers = [Buffer.allocUnsafe(Math.min(partBytes, 1 << 16))];
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Hashes the chunks and copies them into the part being filled, sending it when full. */
  async write(chunks: readonly Uint8Array[]): Promise<void> {
    for (const chunk of chunks) {
      this.#hash.update(chunk);
      this.#bytes += chunk.byteLength;
      let from = 0;
      while (from < chunk.byteLength) {
        const taken = Math.min(chunk.byteLength - from, this.partBytes - this.#filled);
        const buffer = this.#room(this.#filled + taken);
        buffer.set(chunk.subarray(from, from + taken), this.#filled);
        this.#filled += taken;
        from += taken;
        if (this.#filled === this.partBytes) await this.#sendPart();
      }
    }
  }

  /**
   * Puts the snapshot at the key its hash names (`keyOf`), unless it is there already.
   *
   * @returns the hash and the key
   */
  async finish(keyOf: (sha256: string) => string): Promise<{ sha256: string; key: string }> {
    const sha256 = this.#hash.digest('hex');
    const key = keyOf(sha256);
    const rest = (this.#buffers[this.#filling] as Buffer).subarray(0, this.#filled);
    if (!this.#upload) {
      await this.store.putOnce(key, rest, this.contentType);
      return { sha256, key };
    }
    if (this.#filled > 0) await this.#sendPart();
    await this.#sending;
    const upload = await this.#upload;
    await upload.complete();
    try {
      // Same key, same bytes: when another run put them there first, there is nothing to copy.
      await this.store.copyOnce(this.staging, key);
    } finally {
      await this.store.delete(this.staging);
    }
    return { sha256, key };
  }

  /** Drops what was uploaded; no object is left. */
  async abort(): Promise<void> {
    if (!this.#upload) return;
    await this.#sending.catch(() => undefined);
    const upload = await this.#upload.catch(() => undefined);
    await upload?.abort();
  }

  /** The buffer being filled, grown (up to a part) to hold `bytes`. */
  #room(bytes: number): Buffer {
    const buffer = this.#buffers[this.#filling] as Buffer;
    if (buffer.length >= bytes) return buffer;
    const grown = Buffer.allocUnsafe(Math.min(this.partBytes, Math.max(bytes, buffer.length * 2)));
    buffer.copy(grown, 0, 0, this.#filled);
    this.#buffers[this.#filling] = grown;
    return grown;
  }

  async #sendPart(): Promise<void> {
    const part = (this.#buffers[this.#filling] as Buffer).subarray(0, this.#filled);
    this.#upload ??= this.store.startUpload(this.staging, this.contentType);
    // The part before must be up first: parts keep their order, and its buffer is filled next.
    await this.#sending;
    const upload = await this.#upload;
    this.#sending = upload.uploadPart(part);
    // Failures are awaited (and thrown) by the next part or by finish, never left unhandled.
    this.#sending.catch(() => undefined);
    this.#filling = 1 - this.#filling;
    this.#buffers[this.#filling] ??= Buffer.allocUnsafe(this.partBytes);
    this.#filled = 0;
  }
}
