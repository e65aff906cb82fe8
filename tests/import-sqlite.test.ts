/**
 * Moving in from a shop POS's SQLite file (products, inventory, customers, sales, sale_items):
 * the suggested mapping, a dry run that changes nothing, the real run (products, stock as IMPORT
 * movements, customers, historical orders) seen exactly once by a live subscriber, matching on
 * SKU and email against what Branchline already had, a second run that changes nothing, and the
 * CLI end to end.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db.ts';
import { parseMapping } from '../src/import/mapping.ts';
import { openSources } from '../src/import/sources.ts';
import { suggestMapping } from '../src/import/suggest.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import {
  checksumAll,
  importDb,
  importInto,
  POS_SCHEMA,
  scratchDir,
  sqliteFile,
  watchChanges,
} from './helpers/import.ts';

const run = promisify(execFile);

const POS = {
  products: [
    [1, 'HW-100', 'Box of nails', 4.5, 'Galvanised, 500 g', '2026-01-01 10:00:00', 'anna'],
    [2, 'HW-101', 'Wood screws', 6.25, null, '2026-01-01 10:00:00', 'anna'],
    [3, 'HW-102', 'Door hinge', 3.1, null, '2026-01-01 10:00:00', 'anna'],
    [4, 'PT-200', 'Wall paint 5L', 39.9, 'White, matt', '2026-01-01 10:00:00', 'anna'],
    [5, 'PT-201', 'Primer 1L', 12, null, '2026-01-01 10:00:00', 'anna'],
    // Branchline already has SKU-0001 (sample data): matched by SKU, its price updated.
    [6, 'SKU-0001', 'Claw hammer (Standard)', 15.75, null, '2026-01-01 10:00:00', 'anna'],
  ],
  inventory: [
    [1, 1, 'DT', 40, 5, null, null],
    [2, 1, 'HB', 12, 5, null, null],
    [3, 2, 'DT', 25, 0, null, null],
    [4, 3, 'DT', 0, 2, null, null],
    [5, 4, 'HB', 7, 1, null, null],
    [6, 5, 'DT', 9, null, null, null],
    [7, 6, 'DT', 80, 10, null, null],
  ],
  customers: [
    [1, 'Maria Lopez', '+44 20 7946 0001', 'maria@example.org', 'Trade account', null, null],
    [2, 'Tom Baker', '020 7946 0002', null, null, null, null],
    // Branchline already has this customer (sample data): matched by email, phone added.
    [3, 'Ada Okafor', '+44 20 7946 0003', 'ada.okafor@example.net', null, null, null],
  ],
  sales: [
    [1, 'DT', 1, '2026-01-05 09:30:00', 'paid'],
    [2, 'DT', null, '2026-01-05 11:00:00', 'paid'],
    [3, 'HB', 2, '2026-01-06 16:45:00', 'paid'],
  ],
  sale_items: [
    [1, 1, 1, 2, 4.5],
    [2, 1, 4, 1, 39.9],
    [3, 2, 2, 3, 6.25],
    [4, 3, 1, 1, 4.5],
    [5, 3, 5, 2, 11.5],
  ],
};

let t: TestApp;
let db: Db;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let shop: string;

beforeAll(async () => {
  t = await startTestApp({ seed: true });
  db = importDb(t.db.url);
  scratch = await scratchDir();
  shop = sqliteFile(path.join(scratch.dir, 'shop.db'), POS_SCHEMA, POS);
  await t.app.services.feed.ready();
});

afterAll(async () => {
  await db?.close();
  await t?.stop();
  await scratch?.remove();
});

describe('import from a POS SQLite file', () => {
  it('suggests a mapping from table and column names, with a reason per guess', async () => {
    const suggested = suggestMapping(await openSources([shop])) as any;
    const r = suggested.records;
    expect(r.products).toMatchObject({
      from: 'products',
      key: 'id',
      fields: { sku: 'sku', name: 'name', unitPrice: 'price' },
    });
    expect(r.stock).toMatchObject({
      from: 'inventory',
      fields: { product: 'product_id', branchCode: 'store', quantity: 'qty', reorderLevel: 'min_qty' },
    });
    expect(r.customers.fields).toMatchObject({ name: 'name', phone: 'phone', email: 'email' });
    expect(r.orders).toMatchObject({
      from: 'sales',
      fields: { placedAt: 'sold_at', customer: 'customer_id', branchCode: 'store' },
    });
    expect(r.orderLines).toMatchObject({
      from: 'sale_items',
      fields: { order: 'sale_id', product: 'product_id', quantity: 'qty', unitPrice: 'price' },
    });
    expect(r.products.$why.unitPrice).toContain('price');
    expect(suggested.$todo.join('\n')).toContain('branches: no table looks like it');
    expect(() => parseMapping(suggested)).not.toThrow();
  });

  it('dry run, real run seen live exactly once, second run changes nothing', async () => {
    const copies = await openSources([shop]);
    const mapping = suggestMapping(copies);
    const before = await checksumAll(t.db.pool);

    const dry = await importInto(db, copies, mapping, { dryRun: true });
    expect(await checksumAll(t.db.pool)).toEqual(before);
    expect(dry.counts).toEqual({
      products: { created: 5, updated: 1, unchanged: 0, skipped: 0 },
      customers: { created: 2, updated: 1, unchanged: 0, skipped: 0 },
      stock: { created: 6, updated: 1, unchanged: 0, skipped: 0 },
      orders: { created: 3, updated: 0, unchanged: 0, skipped: 0 },
      orderLines: { created: 5, updated: 0, unchanged: 0, skipped: 0 },
    });
    expect(dry.report).toContain('# Import report (dry run: nothing was changed)');
    expect(dry.report).toContain('| products | 5 | 1 | 0 | 0 |');

    const hammer = (await t.db.pool.query("SELECT id, version FROM products WHERE sku = 'SKU-0001'")).rows[0];
    const watcher = await watchChanges(t);
    const startedAt = (await t.db.pool.query('SELECT now() AS at')).rows[0].at;
    const real = await importInto(db, copies, mapping);
    expect(real.error).toBeUndefined();
    expect(real.counts).toEqual(dry.counts);
    const changes = await watcher.expectExactlyOnce();
    await watcher.stop();
    expect(changes).toBeGreaterThan(30);

    // Products: new ones created, SKU-0001 matched (same row, one version later), not duplicated.
    const p = await t.db.pool.query(
      "SELECT id, sku, name, unit_price::text AS price, description, version, updated_by FROM products WHERE sku IN ('HW-100', 'PT-201', 'SKU-0001') ORDER BY sku",
    );
    expect(p.rows.map((r) => [r.sku, r.price, r.updated_by])).toEqual([
      ['HW-100', '4.50', 'admin@example.com'],
      ['PT-201', '12.00', 'admin@example.com'],
      ['SKU-0001', '15.75', 'admin@example.com'],
    ]);
    expect(p.rows[2]).toMatchObject({ id: hammer.id, version: hammer.version + 1 });
    expect(p.rows[0].description).toBe('Galvanised, 500 g');

    // Stock: as in the source, and every quantity is the sum of its movements (IMPORT ones here).
    const stock = await t.db.pool.query(
      `SELECT p.sku, b.code, s.quantity, s.reorder_level FROM stock_levels s
         JOIN products p ON p.id = s.product_id JOIN branches b ON b.id = s.branch_id
        WHERE p.sku IN ('HW-100', 'HW-102', 'SKU-0001') ORDER BY p.sku, b.code`,
    );
    expect(
      stock.rows
        .filter((r) => r.sku !== 'SKU-0001' || r.code === 'DT')
        .map((r) => [r.sku, r.code, r.quantity, r.reorder_level]),
    ).toEqual([
      ['HW-100', 'DT', 40, 5],
      ['HW-100', 'HB', 12, 5],
      ['HW-102', 'DT', 0, 2],
      ['SKU-0001', 'DT', 80, 10],
    ]);
    const ledger = await t.db.pool.query(
      `SELECT count(*)::int AS bad FROM stock_levels s
        WHERE s.quantity <> (SELECT coalesce(sum(delta), 0) FROM stock_movements m
                              WHERE m.branch_id = s.branch_id AND m.product_id = s.product_id)`,
    );
    expect(ledger.rows[0].bad).toBe(0);
    const moves = await t.db.pool.query(
      `SELECT count(*)::int AS n, count(DISTINCT m.actor_id)::int AS actors, min(u.email) AS email, min(m.reason) AS reason
         FROM stock_movements m JOIN users u ON u.id = m.actor_id WHERE m.kind = 'IMPORT'`,
    );
    // 6 rows with a quantity (HW-102 has 0: its row exists, no movement), SKU-0001 by the difference.
    expect(moves.rows[0]).toEqual({ n: 6, actors: 1, email: 'admin@example.com', reason: 'import shop' });

    // Customers: two new, Ada matched by email (not duplicated).
    const ada = await t.db.pool.query(
      "SELECT count(*)::int AS n, min(phone) AS phone FROM customers WHERE email = 'ada.okafor@example.net'",
    );
    expect(ada.rows[0]).toEqual({ n: 1, phone: '+44 20 7946 0003' });

    // Orders: historical, numbered after the branch's last order, dated as sold, no stock moved.
    const orders = await t.db.pool.query(
      `SELECT o.number, o.status, o.total::text, o.item_count, o.placed_at, c.name AS customer
         FROM orders o LEFT JOIN customers c ON c.id = o.customer_id
        WHERE o.placed_at < '2026-02-01' ORDER BY o.placed_at`,
    );
    expect(orders.rows.map((r) => [r.status, r.total, r.item_count, r.customer])).toEqual([
      ['PAID', '48.90', 3, 'Maria Lopez'],
      ['PAID', '18.75', 3, null],
      ['PAID', '27.50', 3, 'Tom Baker'],
    ]);
    expect(orders.rows[0].number).toMatch(/^DT-\d{6}$/);
    expect(orders.rows[0].placed_at.toISOString()).toBe('2026-01-05T09:30:00.000Z');

    // Who imported: the change log names the admin on every imported change.
    const actors = await t.db.pool.query(
      "SELECT DISTINCT actor FROM change_log WHERE tbl <> 'api_tokens' AND created_at >= $1",
      [startedAt],
    );
    expect(actors.rows.map((r) => r.actor)).toEqual(['admin@example.com']);

    // A second run of the same source creates and changes nothing, in any table.
    const after = await checksumAll(t.db.pool);
    const again = await importInto(db, copies, mapping);
    expect(await checksumAll(t.db.pool)).toEqual(after);
    expect(again.counts.products).toEqual({ created: 0, updated: 0, unchanged: 6, skipped: 0 });
    expect(again.counts.stock).toEqual({ created: 0, updated: 0, unchanged: 7, skipped: 0 });
    expect(again.counts.orders).toEqual({ created: 0, updated: 0, unchanged: 3, skipped: 0 });
    expect(again.report).toContain('## Skipped rows (0)');
  });

  it('runs from the command line: suggest, dry run, real run, second run, with report files', {
    timeout: 45_000,
  }, async () => {
    const tools = sqliteFile(path.join(scratch.dir, 'tools.db'), POS_SCHEMA, {
      products: [
        [1, 'TL-1', 'Torque wrench', '89,00 €', null, null, null],
        [2, 'TL-2', 'Socket set', '45,50 €', null, null, null],
        [3, 'TL-3', '  ', '1,00', null, null, null],
      ],
      inventory: [
        [1, 1, 'NG', 3, 1, null, null],
        [2, 2, 'NG', 5, 1, null, null],
      ],
    });
    const env = { ...process.env, DATABASE_URL: t.db.url, LOG_LEVEL: 'warn' };
    const cli = (...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'scripts/import.ts', ...args], { env, timeout: 30_000 });
    const mappingFile = path.join(scratch.dir, 'mapping.json');
    const suggested = await cli(tools, '--suggest-mapping', mappingFile);
    expect(suggested.stdout).toContain('A first mapping is in');
    expect(JSON.parse(await readFile(mappingFile, 'utf8')).namespace).toBe('tools');

    const before = await checksumAll(t.db.pool);
    const dryReport = path.join(scratch.dir, 'dry.md');
    const dry = await cli(tools, '--mapping', mappingFile, '--dry-run', '--report', dryReport);
    expect(dry.stdout).toContain('Dry run: nothing was changed.');
    expect(dry.stdout).toMatch(/products\s+2\s+0\s+0\s+1/);
    expect(dry.stdout).toContain('skipped tools.db:products id=3: blank name');
    expect(await checksumAll(t.db.pool)).toEqual(before);
    expect(await readFile(dryReport, 'utf8')).toContain('| record | would be created |');

    const real = await cli(tools, '--mapping', mappingFile, '--report', path.join(scratch.dir, 'real.md'));
    expect(real.stdout).toContain('Imported as admin@example.com.');
    expect(real.stdout).toMatch(/stock\s+2\s+0\s+0\s+0/);
    const wrench = await t.db.pool.query("SELECT unit_price::text AS price FROM products WHERE sku = 'TL-1'");
    expect(wrench.rows[0].price).toBe('89.00');

    const after = await checksumAll(t.db.pool);
    const again = await cli(tools, '--mapping', mappingFile, '--report', path.join(scratch.dir, 'again.md'));
    expect(again.stdout).toMatch(/products\s+0\s+0\s+2\s+1/);
    expect(await checksumAll(t.db.pool)).toEqual(after);
    await expect(cli(tools)).rejects.toMatchObject({ stderr: expect.stringContaining('--suggest-mapping') });
  });
});
