/**
 * The sources of an import: SQLite database files and CSV files, opened read-only. Each file is
 * one copy with tables; a CSV file is one table named after the file (`inventory.csv` ->
 * `inventory`). Files that hold the same table are copies of one database (the per-user copies
 * of the old setup): their rows are merged by source key, and rows that differ are reported,
 * never silently chosen (merge.ts). A copy is named by its file name, or by as much of its path
 * as tells it apart from the others (`anna/shop.db`, `bob/shop.db`).
 */
import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { type CsvOptions, readCsv } from './csv.ts';
import { readSqlite } from './sqlite.ts';

export interface SourceRow {
  values: Record<string, unknown>;
  /** Where a person finds the row: `shop.db:products id=17`, `inventory.csv:line 12`. */
  location: string;
}

export interface SourceTable {
  /** Lower-case table name (SQLite table, or CSV file name without extension). */
  name: string;
  columns: string[];
  /** Primary-key columns (SQLite), empty when unknown. */
  primaryKey: string[];
  rows: SourceRow[];
}

export interface SourceCopy {
  name: string;
  path: string;
  kind: 'sqlite' | 'csv';
  tables: Map<string, SourceTable>;
  /** What was detected or assumed while reading (delimiter, encoding, text that was not UTF-8). */
  notes: string[];
}

/** A file given in memory (the web upload) instead of on disk. */
export interface InMemoryFile {
  name: string;
  bytes: Uint8Array;
}

const SQLITE_MAGIC = 'SQLite format 3\u0000';

async function isSqlite(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(16);
    await handle.read(head, 0, 16, 0);
    return head.toString('latin1') === SQLITE_MAGIC;
  } finally {
    await handle.close();
  }
}

/** Names that tell the files apart: the file name, with parent folders only where needed. */
export function copyNames(files: string[]): string[] {
  const parts = files.map((f) => path.resolve(f).split(path.sep).filter(Boolean));
  const names = files.map((_, i) => (parts[i] as string[]).slice(-1).join('/'));
  for (let depth = 2; depth < 32; depth++) {
    const seen = new Map<string, number>();
    for (const n of names) seen.set(n, (seen.get(n) ?? 0) + 1);
    if (![...seen.values()].some((c) => c > 1)) break;
    for (let i = 0; i < names.length; i++) {
      if ((seen.get(names[i] as string) ?? 0) > 1) names[i] = (parts[i] as string[]).slice(-depth).join('/');
    }
  }
  return names;
}

/** Opens every source file (SQLite by its header, anything else as CSV). */
export async function openSources(files: string[], csv: CsvOptions = {}): Promise<SourceCopy[]> {
  const names = copyNames(files);
  const copies: SourceCopy[] = [];
  for (const [i, file] of files.entries()) {
    const name = names[i] as string;
    if (await isSqlite(file)) copies.push(readSqlite(file, name));
    else copies.push(readCsv(await readFile(file), name, file, csv));
  }
  return copies;
}

/** CSV files handed over in memory (the web app's upload). */
export function openCsvFiles(files: InMemoryFile[], csv: CsvOptions = {}): SourceCopy[] {
  const names = copyNames(files.map((f) => f.name.replace(/[\\/]/g, '_')));
  return files.map((f, i) => readCsv(f.bytes, names[i] as string, f.name, csv));
}

/** Every table name with the copies that hold it. */
export function tablesOf(copies: SourceCopy[]): Map<string, { copy: SourceCopy; table: SourceTable }[]> {
  const out = new Map<string, { copy: SourceCopy; table: SourceTable }[]>();
  for (const copy of copies) {
    for (const table of copy.tables.values()) {
      const list = out.get(table.name) ?? [];
      list.push({ copy, table });
      out.set(table.name, list);
    }
  }
  return out;
}
