/**
 * Hands the rows Kerf measured on to the Python peers: an Arrow IPC file per table, written with
 * flechette and read with pyarrow, so both sides see the same rows bit for bit. Numbers are float64
 * with NaN kept as NaN (no null bitmap, so pyarrow reads them without a copy); categories are
 * dictionary-encoded utf8 with missing values as nulls. Record batches of 65,536 rows let a reader
 * copy the file into its own arrays a batch at a time.
 */
import { writeFile } from 'node:fs/promises';
import {
  Endianness,
  Table as ArrowTable,
  Version,
  columnFromArray,
  field,
  float64,
  tableToIPC,
  type Column as ArrowColumn,
} from '@uwdata/flechette';
import { categoryColumn } from '../lifecycle/ingest/arrow';
import type { EncodedFeatures } from '../ml/dataset';
import type { Column } from '../ml/table';

const BATCH_ROWS = 65_536;

/** Writes `columns` (all of one length) to `file` as an Arrow IPC file. */
export async function writeArrowFile(file: string, columns: readonly Column[]): Promise<void> {
  const children = columns.map((column) => arrowColumn(column));
  const arrow = new ArrowTable(
    {
      version: Version.V5,
      endianness: Endianness.Little,
      fields: columns.map((column, index) =>
        field(column.name, (children[index] as ArrowColumn<unknown>).type),
      ),
      metadata: null,
    },
    children,
  );
  const bytes = tableToIPC(arrow, { format: 'file' });
  if (!bytes) throw new Error(`flechette wrote no bytes for ${file}`);
  await writeFile(file, bytes);
}

/**
 * The features as Kerf's trainers see them (numbers as they are, categories as their code in the
 * feature's category list, NaN for missing or unseen), then `target` (value or class id).
 */
export function encodedColumns(data: EncodedFeatures, target: Float64Array, targetName: string): Column[] {
  return [
    ...data.features.map((feature, index): Column => ({
      kind: 'numeric',
      name: feature.name,
      values: data.columns[index] as Float64Array,
    })),
    { kind: 'numeric', name: targetName, values: target },
  ];
}

function arrowColumn(column: Column): ArrowColumn<unknown> {
  const options = { maxBatchRows: BATCH_ROWS };
  if (column.kind === 'numeric') return columnFromArray(column.values, float64(), options);
  return categoryColumn(column, options);
}
