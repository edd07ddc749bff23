/**
 * Cuts a binary COPY stream at row boundaries before the reader sees it, in one buffer reused for
 * the whole read. Pieces come off the connection cut anywhere; handed one piece ending inside a row,
 * the reader joins that row's start with the next piece in a new buffer, so the whole stream would
 * be copied into fresh garbage (a buffer per piece, some 10 MB per batch) that only the next garbage
 * collection frees: that garbage, not anything kept, is most of what the snapshot's memory grows by
 * between collections. Here the start of an unfinished row waits at the front of the same buffer.
 */
import { HEADER_BYTES } from '../../serving/batch/copyFormat';

/** Where the header's extension length is: after the signature and the flags field. */
const EXTENSION_LENGTH_AT = HEADER_BYTES - 4;

/** A binary COPY stream's pieces in, its header and whole rows out. */
export class WholeRows {
  #buffer = Buffer.allocUnsafe(1 << 20);
  /** Bytes held; those before `#handed` were handed out by the last `add`. */
  #length = 0;
  #handed = 0;
  #headerRead = false;
  /** After the trailer everything is handed on as it comes (the reader refuses it). */
  #ended = false;

  /**
   * Takes the next piece; returns the header and whole rows it completes (and the trailer), possibly
   * none. The bytes returned are valid until the next call.
   */
  add(piece: Buffer): Buffer {
    if (this.#ended) return piece;
    this.#keepUnhanded(piece.length);
    piece.copy(this.#buffer, this.#length);
    this.#length += piece.length;
    this.#handed = this.#wholeUpTo();
    return this.#buffer.subarray(0, this.#handed);
  }

  /** What is left after the last whole row: empty for a stream that ended with its trailer. */
  rest(): Buffer {
    return this.#buffer.subarray(this.#handed, this.#length);
  }

  /** Moves the bytes not handed out yet to the front, and makes room for `more` behind them. */
  #keepUnhanded(more: number): void {
    const kept = this.#length - this.#handed;
    if (kept + more > this.#buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(kept + more, this.#buffer.length * 2));
      this.#buffer.copy(grown, 0, this.#handed, this.#length);
      this.#buffer = grown;
    } else if (this.#handed > 0) {
      this.#buffer.copyWithin(0, this.#handed, this.#length);
    }
    this.#length = kept;
    this.#handed = 0;
  }

  /** The end of the last whole row (or of the header, or of the trailer) in the bytes held. */
  #wholeUpTo(): number {
    const buffer = this.#buffer;
    const length = this.#length;
    let at = 0;
    if (!this.#headerRead) {
      if (length < HEADER_BYTES) return 0;
      const headerEnd = HEADER_BYTES + buffer.readUInt32BE(EXTENSION_LENGTH_AT);
      if (length < headerEnd) return 0;
      this.#headerRead = true;
      at = headerEnd;
    }
    while (at + 2 <= length) {
      const fields = buffer.readInt16BE(at);
      if (fields === -1) {
        this.#ended = true;
        return at + 2;
      }
      let end = at + 2;
      for (let field = 0; field < fields && end <= length; field++) {
        if (end + 4 > length) return at;
        const bytes = buffer.readInt32BE(end);
        end += 4 + (bytes > 0 ? bytes : 0);
      }
      if (end > length) return at;
      at = end;
    }
    return at;
  }
}
