/**
 * Reads a SQLite database file (better-sqlite3, read-only: the file is never written, so a copy
 * on a network folder or a cloud drive is safe to point at). Every user table is read whole.
 * Text is fetched as bytes and decoded here: SQLite does not check encodings, and old POS
 * programs often stored Latin-1, which a plain UTF-8 read would turn into replacement characters.
 * Bytes that are valid UTF-8 are read as UTF-8, anything else as Windows-1252 (noted per table).
 */
import Database from 'better-sqlite3';
import type { SourceCopy, SourceTable } from './sources.ts';
import { decodeText } from './values.ts';

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

interface ColumnInfo {
  name: string;
  pk: number;
}

export function readSqlite(file: string, name: string): SourceCopy {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = new Map<string, SourceTable>();
    const notes: string[] = [];
    const list = db
      .prepare(
        `SELECT name, sql FROM sqlite_master
          WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name`,
      )
      .all() as { name: string; sql: string | null }[];
    for (const t of list) {
      const info = db.prepare(`PRAGMA table_info(${quote(t.name)})`).all() as ColumnInfo[];
      const columns = info.map((c) => c.name);
      const primaryKey = info
        .filter((c) => c.pk > 0)
        .sort((a, b) => a.pk - b.pk)
        .map((c) => c.name);
      const withoutRowid = /WITHOUT\s+ROWID/i.test(t.sql ?? '');
      const select = columns.map(
        (c) => `CASE WHEN typeof(${quote(c)}) = 'text' THEN CAST(${quote(c)} AS BLOB) ELSE ${quote(c)} END`,
      );
      if (!withoutRowid) select.push('rowid');
      const stmt = db.prepare(`SELECT ${select.join(', ')} FROM ${quote(t.name)}`).raw(true);
      const rows: SourceTable['rows'] = [];
      let latin1 = 0;
      for (const raw of stmt.iterate() as Iterable<unknown[]>) {
        const values: Record<string, unknown> = {};
        for (const [i, c] of columns.entries()) {
          const v = raw[i];
          if (v instanceof Uint8Array) {
            const d = decodeText(v);
            if (d.encoding !== 'utf-8') latin1++;
            values[c] = d.text;
          } else {
            values[c] = v;
          }
        }
        const where = primaryKey.length
          ? primaryKey.map((k) => `${k}=${String(values[k])}`).join(' ')
          : `rowid=${String(raw[columns.length])}`;
        rows.push({ values, location: `${name}:${t.name} ${where}` });
      }
      if (latin1)
        notes.push(`${t.name}: ${latin1} text value(s) were not UTF-8, read as Windows-1252 (Latin-1)`);
      tables.set(t.name.toLowerCase(), { name: t.name.toLowerCase(), columns, primaryKey, rows });
    }
    return { name, path: file, kind: 'sqlite', tables, notes };
  } finally {
    db.close();
  }
}
