/**
 * A snapshot's bytes: an Arrow IPC file (Feather v2) written with flechette, readable by pyarrow,
 * pandas, DuckDB or Polars. Numbers and timestamps (epoch milliseconds) are float64 with missing
 * values as nulls; categories are dictionary-encoded utf8 with the dictionary in order of first
 * appearance, so codes survive the round trip. Each field carries its role, kind and PostgreSQL type
 * in its metadata, so the file alone says what it holds.
 *
 * The encoding is deterministic: the same columns give the same bytes, and so the same SHA-256.
 */
import {
  Endianness,
  Table as ArrowTable,
  Type,
  Version,
  columnFromValues,
  dictionary,
  field,
  float64,
  int32,
  tableFromIPC,
  tableToIPC,
  utf8,
  type Column as ArrowColumn,
  type DataType,
  type Field,
  type Metadata,
} from '@uwdata/flechette';
import { CategoryDictionary, MISSING_CODE, Table, type CategoricalColumn, type Column } from '../../ml/table';
import { SnapshotError } from './errors';
import type { SnapshotKind, SnapshotRole } from './plan';

/** Marks a Kerf snapshot and the version of its layout. */
export const FORMAT_KEY = 'kerf.snapshot';
export const FORMAT_VERSION = '1';
export const TIME_COLUMN_KEY = 'kerf.timeColumn';

/** Rows per Arrow record batch: readers can work batch by batch on large snapshots. */
export const BATCH_ROWS = 65_536;

/** What a field of the file holds, besides its values. */
export interface FieldDescription {
  name: string;
  role: SnapshotRole;
  kind: SnapshotKind;
  pgType: string;
}

/**
 * Encodes the columns (in `table` order) as an Arrow IPC file.
 *
 * @param fields one description per column of `table`, same order
 */
export function encodeSnapshot(
  table: Table,
  fields: readonly FieldDescription[],
  timeColumn: string | undefined,
): Uint8Array {
  const arrowFields: Field[] = [];
  const children: ArrowColumn<unknown>[] = table.columns.map((column, index) => {
    const description = fields[index];
    if (description?.name !== column.name) {
      throw new Error(`Field ${index} describes "${description?.name}" but the column is "${column.name}"`);
    }
    const child = arrowColumn(column);
    arrowFields.push(snapshotField(description, child.type));
    return child;
  });
  const metadata = snapshotMetadata(timeColumn);
  const arrow = new ArrowTable(
    { version: Version.V5, endianness: Endianness.Little, fields: arrowFields, metadata },
    children,
  );
  const bytes = tableToIPC(arrow, { format: 'file' });
  if (!bytes) throw new Error('flechette wrote no bytes for the snapshot');
  return bytes;
}

/** A snapshot column's Arrow field: nullable, with its role, kind and PostgreSQL type in its metadata. */
export function snapshotField(description: FieldDescription, type: DataType): Field {
  return field(
    description.name,
    type,
    true,
    new Map([
      ['kerf.role', description.role],
      ['kerf.kind', description.kind],
      ['kerf.pgType', description.pgType],
    ]),
  );
}

/** The file's metadata: the format mark and the time column. */
export function snapshotMetadata(timeColumn: string | undefined): Map<string, string> {
  const metadata = new Map([[FORMAT_KEY, FORMAT_VERSION]]);
  if (timeColumn !== undefined) metadata.set(TIME_COLUMN_KEY, timeColumn);
  return metadata;
}

function arrowColumn(column: Column): ArrowColumn<unknown> {
  const options = { maxBatchRows: BATCH_ROWS };
  if (column.kind === 'numeric') {
    const { values } = column;
    return columnFromValues(
      (add) => {
        for (const value of values) add(Number.isNaN(value) ? null : value);
      },
      float64(),
      options,
    );
  }
  return categoryColumn(column, options);
}

/**
 * A categorical column as an Arrow dictionary column of utf8 labels (null where missing). The builder
 * numbers labels in order of first appearance, as the column's own dictionary does.
 */
export function categoryColumn(
  column: CategoricalColumn,
  options: { maxBatchRows: number },
): ArrowColumn<unknown> {
  const { codes, dictionary: labels } = column;
  return columnFromValues(
    (add) => {
      for (const code of codes) add(code === MISSING_CODE ? null : labels[code]);
    },
    dictionary(utf8(), int32()),
    options,
  );
}

/** A decoded snapshot: the columns and what each is for. */
export interface DecodedSnapshot {
  table: Table;
  fields: FieldDescription[];
  timeColumn: string | undefined;
}

/**
 * Decodes an Arrow IPC file written by `encodeSnapshot`.
 *
 * @throws SnapshotError (`format`) when the bytes are not Arrow or not a Kerf snapshot
 */
export function decodeSnapshot(bytes: Uint8Array, key: string): DecodedSnapshot {
  let arrow: ArrowTable;
  try {
    arrow = tableFromIPC(bytes);
  } catch (error) {
    throw new SnapshotError('format', `${key} is not an Arrow IPC file: ${String(error)}`, { cause: error });
  }
  const metadata = arrow.schema.metadata;
  if (metadata?.get(FORMAT_KEY) !== FORMAT_VERSION) {
    throw new SnapshotError(
      'format',
      `${key} is an Arrow file but not a Kerf snapshot of format ${FORMAT_VERSION}; take the snapshot again.`,
    );
  }
  const fields: FieldDescription[] = [];
  const columns = arrow.schema.fields.map((arrowField, index): Column => {
    const description = describeField(arrowField, key);
    fields.push(description);
    const child = arrow.getChildAt(index);
    const expected = description.kind === 'categorical' ? Type.Dictionary : Type.Float;
    if (arrowField.type.typeId !== expected) {
      throw new SnapshotError(
        'format',
        `${key}: column "${arrowField.name}" is ${description.kind} but stored as Arrow type ${arrowField.type.typeId}.`,
      );
    }
    return description.kind === 'categorical'
      ? categoricalOf(arrowField.name, child)
      : numericOf(arrowField.name, child);
  });
  return { table: new Table(columns), fields, timeColumn: metadata.get(TIME_COLUMN_KEY) };
}

const ROLES: readonly string[] = ['target', 'feature', 'time'] satisfies SnapshotRole[];
const KINDS: readonly string[] = ['numeric', 'categorical', 'timestamp'] satisfies SnapshotKind[];

function describeField(arrowField: Field, key: string): FieldDescription {
  // flechette types field metadata as always present, but decodes a field without any as null.
  const metadata = arrowField.metadata as Metadata | null;
  const role = metadata?.get('kerf.role') ?? '';
  const kind = metadata?.get('kerf.kind') ?? '';
  const pgType = metadata?.get('kerf.pgType') ?? '';
  if (!ROLES.includes(role) || !KINDS.includes(kind)) {
    throw new SnapshotError(
      'format',
      `${key}: column "${arrowField.name}" has no valid Kerf role/kind (got "${role}"/"${kind}"); take the snapshot again.`,
    );
  }
  return { name: arrowField.name, role: role as SnapshotRole, kind: kind as SnapshotKind, pgType };
}

function numericOf(name: string, child: ArrowColumn<unknown>): Column {
  const values = new Float64Array(child.length);
  let row = 0;
  for (const value of child) values[row++] = typeof value === 'number' ? value : Number.NaN;
  return { kind: 'numeric', name, values };
}

function categoricalOf(name: string, child: ArrowColumn<unknown>): Column {
  const codes = new Int32Array(child.length);
  const labels = new CategoryDictionary();
  let row = 0;
  for (const value of child) codes[row++] = typeof value === 'string' ? labels.codeOf(value) : MISSING_CODE;
  return { kind: 'categorical', name, codes, dictionary: labels.labels };
}
