import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsvImportError, importCsv } from '../../shop/csvImport';
import { createOwnDatabase, runKerf, uniqueName, type OwnDatabase } from '../helpers';
import { ai4iCsv, steelEnergyCsv } from '../sharedData';

// A database of its own, so the tables made here touch nobody else and go away with it.
let database: OwnDatabase;

let pool: pg.Pool;
let dir: string;

beforeAll(async () => {
  database = await createOwnDatabase('kerf_test_csv_import');
  // Importing makes tables: the owner role's work.
  ({ ownerPool: pool } = database);
  dir = await mkdtemp(path.join(os.tmpdir(), 'kerf-csv-import-'));
});

afterAll(async () => {
  await database.drop();
  await rm(dir, { recursive: true, force: true });
});

async function csvFile(name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}

async function columnTypes(table: string): Promise<Record<string, string>> {
  const { rows } = await pool.query<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  return Object.fromEntries(rows.map((row) => [row.column_name, row.data_type]));
}

async function tableExists(table: string): Promise<boolean> {
  const { rows } = await pool.query<{ name: string | null }>('SELECT to_regclass($1) AS name', [table]);
  return rows[0]?.name !== null;
}

describe('importCsv on a real PostgreSQL', () => {
  it('loads the steel energy data set with inferred types and exact values', async () => {
    const started = performance.now();
    const result = await importCsv(pool, steelEnergyCsv, { table: 'steel_energy' });
    const seconds = (performance.now() - started) / 1000;
    console.log(`steel energy: ${result.rows} rows loaded in ${seconds.toFixed(2)} s`);

    expect(result.table).toBe('steel_energy');
    expect(result.rows).toBe(35_040);
    const types = Object.fromEntries(result.columns.map((column) => [column.name, column.type]));
    expect(types).toMatchObject({
      date: 'text',
      Usage_kWh: 'double precision',
      'CO2(tCO2)': 'double precision',
      NSM: 'bigint',
      Load_Type: 'text',
    });
    expect(await columnTypes('steel_energy')).toEqual(types);

    const count = await pool.query('SELECT count(*)::int AS n FROM steel_energy');
    expect(count.rows[0]).toEqual({ n: 35_040 });
    const first = await pool.query(
      `SELECT date, "Usage_kWh", "Lagging_Current_Reactive.Power_kVarh", "CO2(tCO2)", "NSM", "Load_Type"
         FROM steel_energy WHERE date = '01/01/2018 0:15'`,
    );
    expect(first.rows).toEqual([
      {
        date: '01/01/2018 0:15',
        Usage_kWh: 3.17,
        'Lagging_Current_Reactive.Power_kVarh': 2.95,
        'CO2(tCO2)': 0,
        NSM: '900',
        Load_Type: 'Light_Load',
      },
    ]);
    const loads = await pool.query<{ Load_Type: string }>(
      'SELECT DISTINCT "Load_Type" FROM steel_energy ORDER BY 1',
    );
    expect(loads.rows.map((row) => row.Load_Type)).toEqual(['Light_Load', 'Maximum_Load', 'Medium_Load']);
  });

  it('loads the AI4I data set, keeping header names such as "Air temperature [K]"', async () => {
    const result = await importCsv(pool, ai4iCsv, { table: 'ai4i' });
    expect(result.rows).toBe(10_000);
    const types = await columnTypes('ai4i');
    expect(types).toMatchObject({
      UDI: 'bigint',
      'Product ID': 'text',
      Type: 'text',
      'Air temperature [K]': 'double precision',
      'Rotational speed [rpm]': 'bigint',
      'Torque [Nm]': 'double precision',
      'Machine failure': 'bigint',
    });
    const { rows } = await pool.query(
      `SELECT "UDI", "Product ID", "Type", "Air temperature [K]", "Torque [Nm]"
         FROM ai4i WHERE "UDI" IN (1, 10000) ORDER BY "UDI"`,
    );
    expect(rows[0]).toEqual({
      UDI: '1',
      'Product ID': 'M14860',
      Type: 'M',
      'Air temperature [K]': 298.1,
      'Torque [Nm]': 42.8,
    });
    expect(rows).toHaveLength(2);
    const failures = await pool.query('SELECT sum("Machine failure")::int AS n FROM ai4i');
    expect(failures.rows[0]).toEqual({ n: 339 });
  });

  it('reports a ragged row with its line number and creates no table', async () => {
    const file = await csvFile('ragged.csv', 'a,b,c\n1,2,3\n4,5\n6,7,8\n');
    const table = uniqueName('ragged');
    const failure = importCsv(pool, file, { table });
    await expect(failure).rejects.toThrow(CsvImportError);
    await expect(failure).rejects.toThrow(/Line 3 has 2 fields but the header has 3/);
    await expect(failure).rejects.toMatchObject({ line: 3, table });
    expect(await tableExists(table)).toBe(false);
  });

  it('refuses an existing table without replace and leaves it intact; replace loads it again', async () => {
    const table = uniqueName('existing');
    const first = await csvFile('first.csv', 'id,name\n1,one\n2,two\n');
    const second = await csvFile('second.csv', 'id,weight\n10,1.5\n20,2.5\n30,3.5\n');
    await importCsv(pool, first, { table });

    const refused = importCsv(pool, second, { table });
    await expect(refused).rejects.toThrow(
      new RegExp(`table ${table} already exists; pass --replace to drop and load it again`),
    );
    const kept = await pool.query(`SELECT * FROM ${table} ORDER BY id`);
    expect(kept.rows).toEqual([
      { id: '1', name: 'one' },
      { id: '2', name: 'two' },
    ]);

    const replaced = await importCsv(pool, second, { table, replace: true });
    expect(replaced).toEqual({
      table,
      rows: 3,
      columns: [
        { name: 'id', type: 'bigint' },
        { name: 'weight', type: 'double precision' },
      ],
    });
    const now = await pool.query(`SELECT * FROM ${table} ORDER BY id`);
    expect(now.rows).toEqual([
      { id: '10', weight: 1.5 },
      { id: '20', weight: 2.5 },
      { id: '30', weight: 3.5 },
    ]);
  });

  it('loads missing tokens (NA, N/A, null, blank) as NULL and numbers as the reader reads them', async () => {
    const file = await csvFile(
      'missing.csv',
      'n,x,label\n1,1.5,a\nNA,N/A,NA\n3, 2 ,""\n,null,"with ""quotes"", and comma"\n 5 ,1e3,\\.\n',
    );
    const table = uniqueName('missing');
    const result = await importCsv(pool, file, { table });
    expect(result.columns).toEqual([
      { name: 'n', type: 'bigint' },
      { name: 'x', type: 'double precision' },
      { name: 'label', type: 'text' },
    ]);
    const { rows } = await pool.query(`SELECT * FROM ${table}`);
    expect(rows).toEqual([
      { n: '1', x: 1.5, label: 'a' },
      // Text keeps its text: only numeric columns turn missing tokens into NULL.
      { n: null, x: null, label: 'NA' },
      { n: '3', x: 2, label: null },
      { n: null, x: null, label: 'with "quotes", and comma' },
      { n: '5', x: 1000, label: '\\.' },
    ]);
  });

  it('names the file line of an error PostgreSQL reports, past blank lines and multi-line fields', async () => {
    // PostgreSQL text cannot hold a NUL character; the CSV reader can.
    const file = await csvFile('nul.csv', 'id,note\n1,"two\nlines"\n\n2,ok\n3,bad\u0000byte\n');
    const table = uniqueName('nul');
    const failure = importCsv(pool, file, { table });
    await expect(failure).rejects.toThrow(/: line 6: invalid byte sequence .*0x00/);
    await expect(failure).rejects.toMatchObject({ line: 6, table });
    expect(await tableExists(table)).toBe(false);

    // In a record spanning lines, the line where the record starts (as the CSV reader names it).
    const spanning = await csvFile('nul-spanning.csv', 'id,note\n\n1,ok\n2,"first\nsecond\u0000"\n3,ok\n');
    await expect(importCsv(pool, spanning, { table })).rejects.toMatchObject({ line: 4, table });
    const after = await csvFile('nul-after.csv', 'id,note\n1," a\n\nb"\n2,ok\n3,x\u0000\n');
    await expect(importCsv(pool, after, { table })).rejects.toMatchObject({ line: 6, table });
    expect(await tableExists(table)).toBe(false);
  });

  it('rolls back when the file changes between the two reads, naming the line', async () => {
    const file = await csvFile('changing.csv', 'id,weight\n1,2.5\n2,3.5\n3,4.5\n');
    const table = uniqueName('changing');
    // The file is rewritten after the first read, just before the connection for the load is taken.
    const changingPool = {
      connect: async () => {
        await writeFile(file, 'id,weight\n1,2.5\n2,heavy\n3,4.5\n');
        return pool.connect();
      },
    } as unknown as pg.Pool;
    const failure = importCsv(changingPool, file, { table });
    await expect(failure).rejects.toThrow(
      /Line 3: column "weight" holds "heavy", not a number; did the file change\?/,
    );
    await expect(failure).rejects.toMatchObject({ line: 3, table });
    expect(await tableExists(table)).toBe(false);
    // The connection went back to the pool in a usable state.
    const alive = await pool.query('SELECT 1 AS one');
    expect(alive.rows).toEqual([{ one: 1 }]);
  });

  it('refuses a table name that is not a plain identifier', async () => {
    const file = await csvFile('ok.csv', 'a\n1\n');
    for (const name of ['bad-name', 'x; DROP TABLE ai4i', 'a.b.c', '1abc', '']) {
      await expect(importCsv(pool, file, { table: name })).rejects.toThrow(/is not allowed: use letters/);
    }
    expect(await tableExists('ai4i')).toBe(true);
  });

  it('runs as `kerf import-csv --json`', async () => {
    const file = await csvFile('cli.csv', 'Part No,Weight (kg),Qty\nP-1,2.5,3\nP-2,NA,4\n');
    const table = uniqueName('cli');
    const outcome = await runKerf(['import-csv', file, '--table', `public.${table}`, '--json'], {
      ...database.env,
    });
    expect(outcome.stderr).toBe('');
    expect(outcome.code).toBe(0);
    expect(JSON.parse(outcome.stdout)).toEqual({
      table: `public.${table}`,
      rows: 2,
      columns: [
        { name: 'Part No', type: 'text' },
        { name: 'Weight (kg)', type: 'double precision' },
        { name: 'Qty', type: 'bigint' },
      ],
    });
    const { rows } = await pool.query(`SELECT * FROM ${table} ORDER BY "Part No"`);
    expect(rows).toEqual([
      { 'Part No': 'P-1', 'Weight (kg)': 2.5, Qty: '3' },
      { 'Part No': 'P-2', 'Weight (kg)': null, Qty: '4' },
    ]);

    const refused = await runKerf(['import-csv', file, '--table', table], database.env);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(
      `kerf: Cannot import ${file} into ${table}: table ${table} already exists; pass --replace to drop and load it again.`,
    );
  });

  it('refuses a file with a byte that is not UTF-8, naming its line, and creates no table', async () => {
    // "café" saved as Windows-1252: 0xe9 alone is not UTF-8.
    const file = path.join(dir, 'latin1.csv');
    await writeFile(
      file,
      Buffer.concat([Buffer.from('id,name\n1,plain\n2,caf'), Buffer.from([0xe9]), Buffer.from('\n3,ok\n')]),
    );
    const table = uniqueName('latin1');
    const failure = importCsv(pool, file, { table });
    await expect(failure).rejects.toThrow(CsvImportError);
    // The reader names the byte where decoding fails (here the newline after 0xe9), so only the line is pinned.
    await expect(failure).rejects.toThrow(
      new RegExp(
        `^Cannot import .*latin1\\.csv into ${table}: .*The file is not UTF-8: invalid byte 0x[0-9a-f]{2} on line 3\\. Convert it to UTF-8`,
      ),
    );
    await expect(failure).rejects.toMatchObject({ line: 3, table });
    expect(await tableExists(table)).toBe(false);
  });

  it('refuses a header with duplicate names, naming them, and creates no table', async () => {
    const file = await csvFile('duplicates.csv', 'id,weight,note,id,weight\n1,2.5,a,1,2.5\n');
    const table = uniqueName('duplicates');
    const failure = importCsv(pool, file, { table });
    await expect(failure).rejects.toThrow(CsvImportError);
    await expect(failure).rejects.toThrow(
      /Line 1 \(the header\): duplicate column names "id", "weight"; rename them so that each column has its own name/,
    );
    await expect(failure).rejects.toMatchObject({ line: 1, table });
    expect(await tableExists(table)).toBe(false);
  });
});
