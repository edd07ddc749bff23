/**
 * PostgreSQL's binary COPY format, the part its reader and writer share: a stream is a signature and
 * header, then one tuple per row (a 16-bit field count, then each field as a 32-bit length, -1 for
 * NULL, and its bytes in the type's send/receive format), then a trailer (a field count of -1).
 * Batch scoring moves its rows in it because it is several times faster than COPY's text format or
 * row-by-row queries, on both sides of the wire: no number or timestamp is printed or parsed. Pure.
 */

/** The 11 bytes every binary COPY stream starts with. */
export const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Signature, flags (32 bits) and header extension length (32 bits). */
export const HEADER_BYTES = COPY_SIGNATURE.length + 8;

/** The rows of a stream are not the binary COPY format they were expected to be. */
export class CopyFormatError extends Error {
  override readonly name = 'CopyFormatError';
}

/** Below this many bytes a JavaScript loop copies or compares faster than a call into Buffer's native code. */
const SHORT_BYTES = 64;

/** Copies `length` bytes; the hot loops copy a few bytes per row, where a native call costs more than the bytes. */
export function copyBytes(
  source: Uint8Array,
  from: number,
  target: Uint8Array,
  to: number,
  length: number,
): void {
  if (length > SHORT_BYTES) {
    target.set(source.subarray(from, from + length), to);
    return;
  }
  for (let index = 0; index < length; index++) target[to + index] = source[from + index] as number;
}

/** Whether `bytes` equals `source[start..end)`. */
export function sameBytes(bytes: Uint8Array, source: Uint8Array, start: number, end: number): boolean {
  if (bytes.length !== end - start) return false;
  if (bytes.length > SHORT_BYTES) return Buffer.compare(bytes, source.subarray(start, end)) === 0;
  for (let index = 0; index < bytes.length; index++) if (bytes[index] !== source[start + index]) return false;
  return true;
}

/** A binary COPY stream's header: signature, no flags, no extension. */
export function copyHeader(): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  COPY_SIGNATURE.copy(header);
  return header;
}

/** A binary COPY stream's trailer. */
export function copyTrailer(): Buffer {
  const trailer = Buffer.alloc(2);
  trailer.writeInt16BE(-1);
  return trailer;
}
