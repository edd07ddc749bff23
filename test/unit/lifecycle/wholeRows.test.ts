/**
 * WholeRows hands the binary COPY reader the header and whole rows only, however the stream is cut
 * into pieces, and everything in the end, in order.
 */
import { describe, expect, it } from 'vitest';
import { WholeRows } from '../../../lifecycle/ingest/wholeRows';
import { COPY_SIGNATURE } from '../../../serving/batch/copyFormat';

const int16 = (value: number) => Buffer.from(Int16Array.of(value).buffer).reverse();
const int32 = (value: number) => Buffer.from(Int32Array.of(value).buffer).reverse();
const float8 = (value: number) =>
  Buffer.concat([int32(8), Buffer.from(Float64Array.of(value).buffer).reverse()]);
const text = (value: string) => Buffer.concat([int32(Buffer.byteLength(value)), Buffer.from(value)]);

/** A header with a 3-byte extension, rows of a number and a text (some NULL), and the trailer. */
function stream(rows: number): { bytes: Buffer; rowEnds: Set<number> } {
  const parts = [COPY_SIGNATURE, int32(0), int32(3), Buffer.from('ext')];
  const rowEnds = new Set<number>();
  let length = parts.reduce((sum, part) => sum + part.length, 0);
  rowEnds.add(length);
  for (let row = 0; row < rows; row++) {
    const cells = [int16(2), row % 5 === 0 ? int32(-1) : float8(row / 3), text(`material-${row % 7}`)];
    parts.push(...cells);
    length += cells.reduce((sum, cell) => sum + cell.length, 0);
    rowEnds.add(length);
  }
  parts.push(int16(-1));
  rowEnds.add(length + 2);
  return { bytes: Buffer.concat(parts), rowEnds };
}

describe('WholeRows', () => {
  it('hands on whole rows only, and every byte in order, whatever the pieces', () => {
    const { bytes, rowEnds } = stream(40);
    for (const pieceBytes of [1, 2, 3, 7, 19, 64, 1000, bytes.length]) {
      const rows = new WholeRows();
      const out: Buffer[] = [];
      let handed = 0;
      for (let at = 0; at < bytes.length; at += pieceBytes) {
        const whole = rows.add(bytes.subarray(at, at + pieceBytes));
        if (whole.length > 0) {
          handed += whole.length;
          // Copied: the bytes are only valid until the next call.
          out.push(Buffer.from(whole));
          expect(rowEnds.has(handed)).toBe(true);
        }
      }
      expect(rows.rest().length).toBe(0);
      expect(Buffer.concat(out).equals(bytes)).toBe(true);
    }
  });

  it('keeps what follows an unfinished stream, and hands on what comes after the trailer as it is', () => {
    const { bytes } = stream(3);
    const cut = new WholeRows();
    expect(
      Buffer.concat([cut.add(bytes.subarray(0, bytes.length - 5)), cut.rest()]).equals(bytes.subarray(0, -5)),
    ).toBe(true);
    expect(cut.rest().length).toBeGreaterThan(0);

    const after = new WholeRows();
    expect(after.add(Buffer.concat([bytes, Buffer.from('xy')])).equals(bytes)).toBe(true);
    expect(after.rest().toString()).toBe('xy');
    expect(after.add(Buffer.from('z')).toString()).toBe('z');
  });
});
