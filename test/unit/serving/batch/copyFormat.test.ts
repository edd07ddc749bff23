/**
 * PostgreSQL's binary COPY format as batch scoring reads and writes it: rows fed in pieces of any
 * size come out as the same columns, key fields come out as the bytes that went in, and scored rows
 * are tuples PostgreSQL reads back as run, key, prediction, version, prediction id and scored_at.
 */
import { describe, expect, it } from 'vitest';
import { copyHeader, CopyFormatError, copyTrailer } from '../../../../serving/batch/copyFormat';
import { BinaryCopyReader, type DecodedRows, type FieldRead } from '../../../../serving/batch/copyReader';
import { encodeScoredRows, postgresMicroseconds } from '../../../../serving/batch/copyWriter';

type Cell = { int4: number } | { float8: number } | { text: string } | null;

/** One tuple as PostgreSQL sends it. */
function tuple(cells: readonly Cell[]): Buffer {
  const parts: Buffer[] = [Buffer.alloc(2)];
  parts[0]?.writeInt16BE(cells.length);
  for (const cell of cells) {
    const length = Buffer.alloc(4);
    if (cell === null) {
      length.writeInt32BE(-1);
      parts.push(length);
      continue;
    }
    let data: Buffer;
    if ('int4' in cell) {
      data = Buffer.alloc(4);
      data.writeInt32BE(cell.int4);
    } else if ('float8' in cell) {
      data = Buffer.alloc(8);
      data.writeDoubleBE(cell.float8);
    } else {
      data = Buffer.from(cell.text, 'utf8');
    }
    length.writeInt32BE(data.length);
    parts.push(length, data);
  }
  return Buffer.concat(parts);
}

const FIELDS: { name: string; read: FieldRead }[] = [
  { name: 'part_id', read: 'key' },
  { name: 'thickness_mm', read: 'float8' },
  { name: 'material', read: 'text' },
  { name: 'order_ref', read: 'key' },
];

const ROWS: Cell[][] = [
  [{ int4: 1 }, { float8: 2.5 }, { text: 'mild_steel' }, { text: 'Q-1' }],
  [{ int4: 2 }, null, { text: 'edelstahl_rostfrei_ü' }, { text: 'Q-2' }],
  [{ int4: 3 }, { float8: -0 }, null, null],
  [{ int4: 4 }, { float8: 1e300 }, { text: '  ' }, { text: 'Q-4' }],
  [{ int4: 5 }, { float8: 7 }, { text: 'mild_steel' }, { text: 'Q-5' }],
];

const stream = () => Buffer.concat([copyHeader(), ...ROWS.map(tuple), copyTrailer()]);

/** Reads `bytes` fed in pieces of `pieceSize` bytes. */
function readInPieces(bytes: Buffer, pieceSize: number, batchRows = 100): DecodedRows[] {
  const reader = new BinaryCopyReader(FIELDS, batchRows);
  const batches: DecodedRows[] = [];
  for (let at = 0; at < bytes.length; at += pieceSize) {
    batches.push(...reader.push(bytes.subarray(at, at + pieceSize)));
  }
  return [...batches, ...reader.end()];
}

/** A batch as plain values: each row's key bytes, the numbers, the categories as labels. */
function plain(batch: DecodedRows) {
  return {
    keys: Array.from({ length: batch.rowCount }, (_, row) =>
      batch.keyBytes.subarray(batch.keyOffsets[row], batch.keyOffsets[row + 1]).toString('hex'),
    ),
    numbers: batch.numbers.map((column) => [column.name, Array.from(column.values)]),
    texts: batch.texts.map((column) => [
      column.name,
      Array.from(column.codes, (code) => (code === -1 ? null : column.dictionary[code])),
    ]),
  };
}

describe('BinaryCopyReader', () => {
  it('reads the same rows however the stream is cut', () => {
    const whole = readInPieces(stream(), 1 << 20).map(plain);
    expect(whole).toHaveLength(1);
    expect(whole[0]?.numbers).toEqual([['thickness_mm', [2.5, Number.NaN, -0, 1e300, 7]]]);
    // NULL and a blank text are missing categories, as serving reads them.
    expect(whole[0]?.texts).toEqual([
      ['material', ['mild_steel', 'edelstahl_rostfrei_ü', null, null, 'mild_steel']],
    ]);
    // Key fields are kept as they came: length and bytes, field after field.
    expect(whole[0]?.keys[0]).toBe(`000000040000000100000003${Buffer.from('Q-1').toString('hex')}`);
    expect(whole[0]?.keys[2]).toBe('0000000400000003ffffffff');
    for (const size of [1, 2, 3, 7, 19, 64]) {
      expect(readInPieces(stream(), size).map(plain), `pieces of ${size} bytes`).toEqual(whole);
    }
  });

  it('reads a row longer than a piece, and rows cut anywhere, into the same columns', () => {
    // A row of some 10 kB (longer than what the reader first joins to a cut row), among short ones.
    const long = 'x'.repeat(10_000);
    const rows: Cell[][] = [...ROWS, [{ int4: 6 }, { float8: 3 }, { text: long }, { text: long }], ...ROWS];
    const bytes = Buffer.concat([copyHeader(), ...rows.map(tuple), copyTrailer()]);
    const whole = readInPieces(bytes, bytes.length).map(plain);
    expect(whole[0]?.texts[0]?.[1]).toContain(long);
    expect(whole[0]?.numbers[0]?.[1]).toHaveLength(rows.length);
    for (const size of [1, 5, 100, 4095, 4096, 4097, 6000, 20_000]) {
      expect(readInPieces(bytes, size).map(plain), `pieces of ${size} bytes`).toEqual(whole);
    }
  });

  it('reads into the arrays of batches handed back, and never into those of a batch still out', () => {
    const reader = new BinaryCopyReader(FIELDS, 2);
    const bytes = stream();
    const twoRows = copyHeader().length + tuple(ROWS[0] ?? []).length + tuple(ROWS[1] ?? []).length;
    const [first] = reader.push(bytes.subarray(0, twoRows));
    if (!first) throw new Error('expected the first batch');
    const firstRows = plain(first);
    reader.recycle(first);
    // The second batch is read into new arrays (the first's were taken already when it started),
    // and kept; the third, begun once the second is done, into the first's.
    const [second] = reader.push(bytes.subarray(twoRows));
    const [third] = reader.end();
    if (!second || !third) throw new Error('expected three batches');
    expect(third.numbers[0]?.values.buffer).toBe(first.numbers[0]?.values.buffer);
    expect(second.numbers[0]?.values.buffer).not.toBe(first.numbers[0]?.values.buffer);
    expect([firstRows, plain(second), plain(third)]).toEqual(readInPieces(bytes, 1000, 2).map(plain));
  });

  it('cuts the rows into batches of at most batchRows', () => {
    const batches = readInPieces(stream(), 5, 2);
    expect(batches.map((batch) => batch.rowCount)).toEqual([2, 2, 1]);
    expect(batches.flatMap((batch) => plain(batch).keys)).toEqual(
      readInPieces(stream(), 1000).flatMap((batch) => plain(batch).keys),
    );
  });

  it('refuses what is not the expected binary COPY stream', () => {
    const reader = () => new BinaryCopyReader(FIELDS, 10);
    expect(() => reader().push(Buffer.from('PGCOPY\nnot-binary-copy-at-all'))).toThrow(
      new CopyFormatError('the stream does not start with the binary COPY signature'),
    );
    const threeFields = Buffer.concat([copyHeader(), tuple([{ int4: 1 }, { float8: 1 }, { text: 'x' }])]);
    expect(() => reader().push(threeFields)).toThrow(
      new CopyFormatError('a row has 3 fields, not the 4 expected'),
    );
    const wideNumber = Buffer.concat([copyHeader(), tuple([{ int4: 1 }, { int4: 1 }, { text: 'x' }, null])]);
    expect(() => reader().push(wideNumber)).toThrow(
      new CopyFormatError('field thickness_mm is not a float8 (4 bytes)'),
    );
    // The same refusals when the bad row arrives a byte at a time (finished from the bytes held).
    for (const [bytes, message] of [
      [threeFields, 'a row has 3 fields, not the 4 expected'],
      [wideNumber, 'field thickness_mm is not a float8 (4 bytes)'],
    ] as const) {
      const bytewise = reader();
      expect(() => {
        for (let at = 0; at < bytes.length; at++) bytewise.push(bytes.subarray(at, at + 1));
      }).toThrow(new CopyFormatError(message));
    }
    const cut = reader();
    cut.push(stream().subarray(0, 40));
    expect(() => cut.end()).toThrow(
      new CopyFormatError('the binary COPY stream ended in the middle of a row or without its trailer'),
    );
    const after = reader();
    after.push(Buffer.concat([stream(), Buffer.from('xy')]));
    expect(() => after.end()).toThrow(
      new CopyFormatError('the binary COPY stream ended in the middle of a row or without its trailer'),
    );
    const more = reader();
    more.push(stream());
    expect(() => more.push(Buffer.from('z'))).toThrow(
      new CopyFormatError('data after the end of the binary COPY stream'),
    );
  });
});

describe('encodeScoredRows', () => {
  const scoredAt = new Date('2026-03-01T03:00:00.123Z');
  const batch = readInPieces(stream(), 1 << 20)[0] as DecodedRows;

  it('writes run, key, value, version, a version-4 prediction id and scored_at per row', () => {
    const bytes = Buffer.concat([
      copyHeader(),
      encodeScoredRows(
        batch,
        2,
        { kind: 'value', values: Float64Array.of(1.5, 2, 3, 4, 5) },
        { run: 2 ** 40 + 7, version: 3, scoredAt },
      ),
      copyTrailer(),
    ]);
    const fields: { name: string; read: FieldRead }[] = [
      { name: 'run', read: 'key' },
      { name: 'part_id', read: 'key' },
      { name: 'order_ref', read: 'key' },
      { name: 'prediction', read: 'float8' },
      { name: 'version', read: 'key' },
      { name: 'prediction_id', read: 'key' },
      { name: 'scored_at', read: 'key' },
    ];
    const reader = new BinaryCopyReader(fields, 100);
    const [read] = [...reader.push(bytes), ...reader.end()];
    expect(read?.rowCount).toBe(5);
    expect(read?.numbers[0]?.values).toEqual(Float64Array.of(1.5, 2, 3, 4, 5));
    const ids = new Set<string>();
    for (let row = 0; row < 5; row++) {
      const fieldBytes = (read as DecodedRows).keyBytes.subarray(
        read?.keyOffsets[row],
        read?.keyOffsets[row + 1],
      );
      let at = 0;
      const next = () => {
        const length = fieldBytes.readInt32BE(at);
        const data = fieldBytes.subarray(at + 4, at + 4 + Math.max(length, 0));
        at += 4 + Math.max(length, 0);
        return { length, data };
      };
      const run = next();
      expect(run.data.readBigInt64BE()).toBe(BigInt(2 ** 40 + 7));
      // The key fields, exactly as read.
      const partId = next();
      const orderRef = next();
      expect(partId.data.readInt32BE()).toBe(row + 1);
      expect(orderRef.length === -1 ? null : orderRef.data.toString()).toBe(
        row === 2 ? null : `Q-${row + 1}`,
      );
      expect(next().data.readInt32BE()).toBe(3);
      const id = next().data.toString('hex');
      expect(id).toMatch(/^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
      ids.add(id);
      expect(Number(next().data.readBigInt64BE())).toBe(postgresMicroseconds(scoredAt));
    }
    expect(ids.size).toBe(5);
  });

  it('writes a classifier label and its float8[] of probabilities', () => {
    const encoded = encodeScoredRows(
      { rowCount: 1, keyBytes: Buffer.from('0000000400000009', 'hex'), keyOffsets: Uint32Array.of(0, 8) },
      1,
      {
        kind: 'label',
        classLabels: [Buffer.from('fast'), Buffer.from('slow')],
        best: Int32Array.of(1),
        probabilities: Float64Array.of(0.25, 0.75),
      },
      { run: 1, version: 2, scoredAt },
    );
    const reader = new BinaryCopyReader(
      [
        { name: 'run', read: 'key' },
        { name: 'part_id', read: 'key' },
        { name: 'label', read: 'text' },
        { name: 'probabilities', read: 'key' },
        { name: 'version', read: 'key' },
        { name: 'prediction_id', read: 'key' },
        { name: 'scored_at', read: 'key' },
      ],
      10,
    );
    const [read] = [...reader.push(Buffer.concat([copyHeader(), encoded, copyTrailer()])), ...reader.end()];
    expect(read?.texts[0]?.dictionary).toEqual(['slow']);
    const keys = read?.keyBytes ?? Buffer.alloc(0);
    // run (12 bytes), part_id (8), then the array: length, 1 dimension, no NULLs, float8, 2 elements from 1.
    const array = keys.subarray(20);
    expect(array.readInt32BE(0)).toBe(20 + 2 * 12);
    expect([
      array.readInt32BE(4),
      array.readInt32BE(8),
      array.readInt32BE(12),
      array.readInt32BE(16),
      array.readInt32BE(20),
    ]).toEqual([1, 0, 701, 2, 1]);
    expect([
      array.readInt32BE(24),
      array.readDoubleBE(28),
      array.readInt32BE(36),
      array.readDoubleBE(40),
    ]).toEqual([8, 0.25, 8, 0.75]);
  });

  it('counts time from PostgreSQL epoch in microseconds', () => {
    expect(postgresMicroseconds(new Date('2000-01-01T00:00:00Z'))).toBe(0);
    expect(postgresMicroseconds(new Date('2000-01-01T00:00:01.5Z'))).toBe(1_500_000);
    expect(postgresMicroseconds(new Date('1999-12-31T23:59:59Z'))).toBe(-1_000_000);
  });
});
