/**
 * Helpers for the import tests: SQLite files shaped like a shop POS's (built with better-sqlite3
 * inside the test), a checksum of every table, an importer bound to a test database, and a
 * subscriber that must see every change after a cursor exactly once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type pg from 'pg';
import { expect } from 'vitest';
import { createDb, type Db } from '../../src/db.ts';
import { parseMapping } from '../../src/import/mapping.ts';
import { importer, runImport } from '../../src/import/run.ts';
import type { SourceCopy } from '../../src/import/sources.ts';
import { encodeCursor, SNAPSHOT_POSITION_SQL } from '../../src/listeners/cursor.ts';
import type { TestApp } from './app.ts';
import { testLog } from './db.ts';
import { CHANGES, type Collector, subscribeWs, tokenFor, waitFor, wsClient } from './feed.ts';

export async function scratchDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'branchline-import-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A SQLite file with `sql` run in it (tables and rows). */
export function sqliteFile(file: string, sql: string, rows: Record<string, unknown[][]> = {}): string {
  const db = new Database(file);
  db.exec(sql);
  for (const [table, list] of Object.entries(rows)) {
    if (list.length === 0) continue;
    const stmt = db.prepare(`INSERT INTO ${table} VALUES (${list[0]?.map(() => '?').join(', ')})`);
    db.transaction(() => {
      for (const r of list) stmt.run(...r);
    })();
  }
  db.close();
  return file;
}

export const POS_SCHEMA = `
CREATE TABLE products (id INTEGER PRIMARY KEY, sku TEXT, name TEXT, price, description TEXT,
  updated_at TEXT, updated_by TEXT);
CREATE TABLE inventory (id INTEGER PRIMARY KEY, product_id INTEGER, store TEXT, qty, min_qty INTEGER,
  updated_at TEXT, updated_by TEXT);
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, phone TEXT, email TEXT, notes TEXT,
  updated_at TEXT, updated_by TEXT);
CREATE TABLE sales (id INTEGER PRIMARY KEY, store TEXT, customer_id INTEGER, sold_at TEXT, status TEXT);
CREATE TABLE sale_items (id INTEGER PRIMARY KEY, sale_id INTEGER, product_id INTEGER, qty INTEGER, price);
`;

/** md5 of every row of every table of the database (import map, runs and migrations included). */
export async function checksumAll(pool: pg.Pool, except: string[] = []): Promise<Record<string, string>> {
  const { rows: tables } = await pool.query<{ t: string }>(
    `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  const out: Record<string, string> = {};
  for (const { t } of tables) {
    if (except.includes(t)) continue;
    const { rows } = await pool.query(
      `SELECT count(*)::int AS n, coalesce(md5(string_agg(r::text, '|' ORDER BY r::text)), '') AS h FROM "${t}" r`,
    );
    out[t] = `${rows[0].n}:${rows[0].h}`;
  }
  return out;
}

export function importDb(url: string): Db {
  return createDb(
    { url, poolSize: 4, statementTimeoutMs: 15_000, idleInTransactionTimeoutMs: 10_000 },
    testLog,
  );
}

/** Runs an import into the test database as admin@example.com. */
export async function importInto(
  db: Db,
  copies: SourceCopy[],
  mapping: unknown,
  opts: { dryRun?: boolean; batchSize?: number } = {},
) {
  const viewer = await importer(db.pool, 'admin@example.com');
  return runImport({
    db,
    log: testLog,
    viewer,
    copies,
    mapping: parseMapping(mapping),
    mappingName: 'test mapping',
    dryRun: opts.dryRun ?? false,
    batchSize: opts.batchSize ?? 7,
  });
}

export async function cursorNow(pool: pg.Pool): Promise<string> {
  const { rows } = await pool.query(SNAPSHOT_POSITION_SQL);
  return encodeCursor(rows[0]);
}

export interface Watcher {
  events: Collector['events'];
  /** Waits until every change after the start is in, then checks each arrived exactly once. */
  expectExactlyOnce(): Promise<number>;
  stop(): Promise<void>;
}

/** An admin subscribed to `changes` from now (over graphql-ws, through the real server). */
export async function watchChanges(t: TestApp): Promise<Watcher> {
  const token = await tokenFor(t.db.pool, 'admin@example.com');
  const start = await cursorNow(t.db.pool);
  const client = wsClient(t.wsUrl, token);
  const sub = subscribeWs(client, CHANGES, { after: start }, 'changes');
  const [, xid, id] = start.split(':');
  return {
    events: sub.events,
    async expectExactlyOnce() {
      const { rows } = await t.db.pool.query<{ pos: string }>(
        `SELECT c.xid::text || ':' || c.id::text AS pos FROM change_log c
          WHERE (c.xid, c.id) > ($1::text::xid8, $2::bigint) ORDER BY c.xid, c.id`,
        [xid, id],
      );
      const want = rows.map((r) => r.pos);
      await waitFor(
        () => sub.events.length >= want.length || sub.errors.length > 0,
        20_000,
        `${want.length} changes`,
      );
      // A moment for anything extra (a repeat) to arrive.
      await new Promise((r) => setTimeout(r, 300));
      expect(sub.errors).toEqual([]);
      const got = sub.events.map((e: { cursor: string }) => e.cursor.split(':').slice(1, 3).join(':'));
      expect(got).toEqual(want);
      return want.length;
    },
    async stop() {
      sub.stop();
      await client.dispose();
    },
  };
}

/**
 * The cycle every import test checks: a dry run changes nothing (checksum of every table), the
 * real run's changes reach a live subscriber exactly once, and a second run changes nothing.
 */
export async function importCycle(t: TestApp, db: Db, copies: SourceCopy[], mapping: unknown) {
  const before = await checksumAll(t.db.pool);
  const dry = await importInto(db, copies, mapping, { dryRun: true });
  expect(await checksumAll(t.db.pool)).toEqual(before);
  const watcher = await watchChanges(t);
  const real = await importInto(db, copies, mapping);
  expect(real.error).toBeUndefined();
  const changes = await watcher.expectExactlyOnce();
  await watcher.stop();
  const after = await checksumAll(t.db.pool);
  const again = await importInto(db, copies, mapping);
  expect(await checksumAll(t.db.pool)).toEqual(after);
  for (const c of Object.values(again.counts)) expect(c.created + c.updated).toBe(0);
  return { dry, real, again, changes };
}

/** A spreadsheet export of products: `;`, decimal commas, quoted fields (written as Windows-1252). */
export const PRODUCTS_CSV = [
  'Artikelnummer;Bezeichnung;Preis;Beschreibung',
  'CSV-1;Crème fraîche Löffel;12,50;"Edelstahl; 20 cm"',
  'CSV-2;"Gartenschere ""Profi""";1.299,00;',
  'CSV-3;  Blumentopf   groß ;3,5;',
  'CSV-4;;4,00;kein Name',
  'CSV-5;Gießkanne;9,90 €;',
].join('\r\n');

/** Stock per branch by SKU, same style. */
export const STOCK_CSV = [
  'Artikelnummer;Filiale;Menge',
  'CSV-1;DT;12',
  'CSV-2;HB;3',
  'CSV-5;DT;-1',
  'CSV-9;DT;4',
].join('\r\n');
