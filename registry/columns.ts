/**
 * Rows to records: PostgreSQL names columns in snake_case, Kerf's records use the same names in
 * camelCase. A module lists a table's columns once, in a `TableColumns`, and both its SQL and its
 * row-to-record mapping read that list, so a column cannot be selected and then forgotten.
 */

/** A snake_case column name as a record field: `decided_at` is `decidedAt`. */
export type FieldOf<Column extends string> = Column extends `${infer Head}_${infer Rest}`
  ? `${Head}${Capitalize<FieldOf<Rest>>}`
  : Column;

/** A row as its record: every column under its camelCase name, values unchanged. */
export type RecordOf<Row> = { [Column in keyof Row & string as FieldOf<Column>]: Row[Column] };

function fieldOf(column: string): string {
  return column.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

/** The columns a module reads from one table (list every column of `Row`, in record order). */
export class TableColumns<Row extends object> {
  /** The columns for a SELECT or RETURNING clause: `token_id, name, ...`. */
  readonly sql: string;
  private readonly fields: readonly (readonly [keyof Row & string, string])[];

  constructor(columns: readonly (keyof Row & string)[]) {
    this.sql = columns.join(', ');
    this.fields = columns.map((column) => [column, fieldOf(column)] as const);
  }

  /**
   * The row's record, its fields in column order. Other columns the query returned (a joined
   * table's) are left out. An arrow function, so `rows.map(columns.record)` works.
   */
  readonly record = (row: Row): RecordOf<Row> => {
    const record: Record<string, unknown> = {};
    for (const [column, field] of this.fields) record[field] = row[column];
    return record as RecordOf<Row>;
  };
}
