/**
 * `backupDatabase`: one consistent snapshot of the whole database to one file, while the server
 * keeps serving and writing.
 *
 * Guarantees:
 * - Every table is read in one REPEATABLE READ, READ ONLY transaction: one snapshot for all of
 *   them, so the file holds the database as it was at one instant (every quantity equals the sum
 *   of its movements, every change-log row of a row is there with it). The transaction takes no
 *   transaction id, so it does not hold back the change feed's horizon; it takes ACCESS SHARE
 *   locks (as pg_dump does), which block only schema changes, never writes.
 * - Each table's row count and content checksum (tables.ts) are computed in the same snapshot and
 *   written in the header; a restore compares the restored tables with them.
 * - The file appears under its name only once complete and fsynced (`<file>.partial` before).
 *
 * Not guaranteed: anything outside the current schema (other schemas, roles, server settings).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { Logger } from '../logger.ts';
import { type BackupHeader, type BackupTrailer, BackupWriter, FORMAT, FORMAT_VERSION } from './format.ts';
import { appliedMigrations, EXCLUDED_TABLES, listTables, quoteIdent, tableChecksum } from './tables.ts';

export interface BackupProgress {
  /** `checksums` while counting and checksumming, `table` after each table was written. */
  phase: 'checksums' | 'table';
  table: string;
  /** Tables done (of `tables`). */
  done: number;
  tables: number;
  /** Rows written so far, and in all. */
  rows: number;
  totalRows: number;
}

export interface BackupOptions {
  url: string;
  file: string;
  log?: Logger;
  /** Awaited: the snapshot stays open meanwhile (tests write between tables). */
  onProgress?: (p: BackupProgress) => void | Promise<void>;
}

export interface BackupResult {
  file: string;
  /** Size of the compressed file, bytes. */
  size: number;
  header: BackupHeader;
  trailer: BackupTrailer;
  ms: number;
}

/** Session settings of a backup or restore connection: UTC (checksums compare text), no timeouts. */
export const TOOL_SESSION_SQL =
  "SET TimeZone = 'UTC'; SET client_encoding = 'UTF8'; SET statement_timeout = 0; " +
  'SET idle_in_transaction_session_timeout = 0';

export async function backupDatabase(opts: BackupOptions): Promise<BackupResult> {
  const started = Date.now();
  await mkdir(path.dirname(path.resolve(opts.file)), { recursive: true });
  const client = new pg.Client({ connectionString: opts.url, application_name: 'branchline-backup' });
  await client.connect();
  const writer = new BackupWriter(opts.file);
  try {
    await client.query(TOOL_SESSION_SQL);
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const tables = await listTables(client);
    if (!tables.length) throw new Error('The database has no tables: nothing to back up (is it migrated?)');
    await client.query(`LOCK TABLE ${tables.map((t) => quoteIdent(t.name)).join(', ')} IN ACCESS SHARE MODE`);
    const migrations = await appliedMigrations(client);
    const { rows: info } = await client.query<{ database: string; server: string; excluded: string[] }>(
      `SELECT current_database() AS database, current_setting('server_version') AS server,
              coalesce(array_agg(c.relname::text) FILTER (WHERE c.relname = ANY($1)), '{}') AS excluded
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
        WHERE c.relkind IN ('r', 'p')`,
      [[...EXCLUDED_TABLES]],
    );
    const withSums: BackupHeader['tables'] = [];
    let totalRows = 0;
    for (const t of tables) {
      const sum = await tableChecksum(client, t.name);
      withSums.push({ name: t.name, columns: t.columns, rows: sum.rows, checksum: sum.checksum });
      totalRows += sum.rows;
      await opts.onProgress?.({
        phase: 'checksums',
        table: t.name,
        done: withSums.length,
        tables: tables.length,
        rows: 0,
        totalRows,
      });
    }
    const header: BackupHeader = {
      format: FORMAT,
      version: FORMAT_VERSION,
      createdAt: new Date().toISOString(),
      schemaVersion: migrations.at(-1)?.name ?? null,
      migrations,
      database: info[0]?.database ?? '',
      server: `PostgreSQL ${info[0]?.server ?? '?'}`,
      excluded: info[0]?.excluded ?? [],
      tables: withSums,
    };
    await writer.header(header);
    let rows = 0;
    for (const [i, t] of withSums.entries()) {
      await writer.beginTable(t.name);
      const stream = client.query(
        copyTo(`COPY ${quoteIdent(t.name)} (${t.columns.map(quoteIdent).join(', ')}) TO STDOUT`),
      );
      for await (const chunk of stream as AsyncIterable<Buffer>) await writer.rowsChunk(chunk);
      const written = await writer.endTable();
      if (written !== t.rows) throw new Error(`table ${t.name}: wrote ${written} rows, counted ${t.rows}`);
      rows += written;
      await opts.onProgress?.({
        phase: 'table',
        table: t.name,
        done: i + 1,
        tables: withSums.length,
        rows,
        totalRows,
      });
    }
    await client.query('COMMIT');
    const { trailer, size } = await writer.finish();
    const ms = Date.now() - started;
    opts.log?.info(
      { module: 'backup', file: opts.file, size, tables: trailer.tables, rows: trailer.rows, ms },
      'backup written',
    );
    return { file: opts.file, size, header, trailer, ms };
  } catch (err) {
    await writer.abort();
    throw err;
  } finally {
    await client.end().catch(() => {});
  }
}
