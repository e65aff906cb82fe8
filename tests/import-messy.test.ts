/**
 * A messy SQLite file: duplicate SKUs, blank names, prices with currency signs and decimal
 * commas, stock below zero, stray whitespace, Latin-1 text, references to rows that do not exist.
 * Clean values are imported cleaned; every other row is skipped with its reason and location in
 * the report; a dry run and a second run change nothing; a subscriber sees every change once.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db.ts';
import { parseMapping } from '../src/import/mapping.ts';
import { importer, runImport } from '../src/import/run.ts';
import { openSources } from '../src/import/sources.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { testLog } from './helpers/db.ts';
import { importCycle, importDb, POS_SCHEMA, scratchDir, sqliteFile } from './helpers/import.ts';

let t: TestApp;
let db: Db;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let file: string;

const latin1 = (s: string) => Buffer.from(s, 'latin1');

beforeAll(async () => {
  t = await startTestApp({ seed: true });
  db = importDb(t.db.url);
  scratch = await scratchDir();
  file = path.join(scratch.dir, 'messy.db');
  const s = new Database(file);
  s.exec(POS_SCHEMA);
  const product = s.prepare('INSERT INTO products (id, sku, name, price) VALUES (?, ?, CAST(? AS TEXT), ?)');
  product.run(1, 'MS-1', 'Hammer', '€ 12,50');
  product.run(2, ' MS-2 ', '  Saw \t  blade ', '1.234,00');
  product.run(3, 'MS-1', 'Hammer again', 3);
  product.run(4, 'MS-4', '   ', 5);
  product.run(5, 'MS-5', 'Widget', 'twelve');
  product.run(6, 'MS-6', latin1('Crème brûlée torch'), '$7.99');
  product.run(7, 'MS-7', 'Refund', '-3,00');
  product.run(8, '', 'No SKU', 1);
  const stock = s.prepare('INSERT INTO inventory (id, product_id, store, qty) VALUES (?, ?, ?, ?)');
  stock.run(1, 1, 'DT', 5);
  stock.run(2, 2, 'XX', 3);
  stock.run(3, 6, 'DT', -2);
  stock.run(4, 3, 'DT', 4);
  stock.run(5, 99, 'DT', 1);
  stock.run(6, 2, ' dt ', ' 7 ');
  const customer = s.prepare(
    'INSERT INTO customers (id, name, phone, email) VALUES (?, CAST(? AS TEXT), ?, ?)',
  );
  customer.run(1, '  Jo   Smith ', ' 0161 496 0000 ', ' JO@Example.COM ');
  customer.run(2, '', null, 'blank@example.org');
  customer.run(3, 'Bad Mail', null, 'not-an-email');
  customer.run(4, latin1('Zoë Müller'), null, null);
  const sale = s.prepare(
    'INSERT INTO sales (id, store, customer_id, sold_at, status) VALUES (?, ?, ?, ?, ?)',
  );
  sale.run(1, 'DT', 0, '03.01.2026 14:05', 'paid');
  sale.run(2, 'DT', null, '2026-01-04', 'completed');
  sale.run(3, 'DT', null, 'yesterday', 'paid');
  const line = s.prepare(
    'INSERT INTO sale_items (id, sale_id, product_id, qty, price) VALUES (?, ?, ?, ?, ?)',
  );
  line.run(1, 1, 1, 2, '12,50');
  line.run(2, 2, 1, 1, null);
  line.run(3, 2, 99, 1, 2);
  line.run(4, 3, 1, 1, 12.5);
  line.run(5, 7, 1, 1, 12.5);
  s.close();
});

afterAll(async () => {
  await db?.close();
  await t?.stop();
  await scratch?.remove();
});

const MAPPING = {
  namespace: 'messy',
  records: {
    products: { from: 'products', key: 'id', fields: { sku: 'sku', name: 'name', unitPrice: 'price' } },
    stock: {
      from: 'inventory',
      key: 'id',
      fields: { product: 'product_id', branchCode: 'store', quantity: 'qty' },
    },
    customers: { from: 'customers', key: 'id', fields: { name: 'name', phone: 'phone', email: 'email' } },
    orders: {
      from: 'sales',
      key: 'id',
      fields: { branchCode: 'store', customer: 'customer_id', placedAt: 'sold_at', status: 'status' },
    },
    orderLines: {
      from: 'sale_items',
      key: 'id',
      fields: { order: 'sale_id', product: 'product_id', quantity: 'qty', unitPrice: 'price' },
    },
  },
};

describe('import of messy data', () => {
  it('imports what is clean (cleaned), skips the rest with reasons and locations', async () => {
    const copies = await openSources([file]);
    expect(copies[0]?.notes.join('\n')).toMatch(/products: 1 text value\(s\) were not UTF-8/);
    const { real, again } = await importCycle(t, db, copies, MAPPING);

    expect(real.counts.products).toEqual({ created: 3, updated: 0, unchanged: 0, skipped: 5 });
    const products = await t.db.pool.query(
      "SELECT sku, name, unit_price::text AS price FROM products WHERE sku LIKE 'MS-%' ORDER BY sku",
    );
    expect(products.rows).toEqual([
      { sku: 'MS-1', name: 'Hammer', price: '12.50' },
      { sku: 'MS-2', name: 'Saw blade', price: '1234.00' },
      { sku: 'MS-6', name: 'Crème brûlée torch', price: '7.99' },
    ]);
    const customers = await t.db.pool.query(
      "SELECT name, phone, email FROM customers WHERE name IN ('Jo Smith', 'Zoë Müller') ORDER BY name",
    );
    expect(customers.rows).toEqual([
      { name: 'Jo Smith', phone: '0161 496 0000', email: 'jo@example.com' },
      { name: 'Zoë Müller', phone: null, email: null },
    ]);
    const stock = await t.db.pool.query(
      `SELECT p.sku, b.code, s.quantity FROM stock_levels s JOIN products p ON p.id = s.product_id
         JOIN branches b ON b.id = s.branch_id WHERE p.sku LIKE 'MS-%' ORDER BY p.sku`,
    );
    expect(stock.rows).toEqual([
      { sku: 'MS-1', code: 'DT', quantity: 5 },
      { sku: 'MS-2', code: 'DT', quantity: 7 },
    ]);
    expect(real.counts.orders).toEqual({ created: 1, updated: 0, unchanged: 0, skipped: 2 });
    const order = await t.db.pool.query(
      "SELECT total::text, customer_id, placed_at FROM orders WHERE placed_at = '2026-01-03T14:05:00Z'",
    );
    expect(order.rows).toEqual([
      { total: '25.00', customer_id: null, placed_at: new Date('2026-01-03T14:05:00Z') },
    ]);

    const r = real.report;
    const skipped = (where: string, reason: string) =>
      expect(r).toMatch(
        new RegExp(`\\| ${where.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\| [^|]* \\| [^\\n]*${reason}`),
      );
    skipped('messy.db:products id=3', 'duplicate SKU MS-1 \\(first at messy.db:products id=1\\)');
    skipped('messy.db:products id=4', 'blank name');
    skipped('messy.db:products id=5', 'invalid price "twelve"');
    skipped('messy.db:products id=7', 'invalid price "-3,00"');
    skipped('messy.db:products id=8', 'blank SKU');
    skipped('messy.db:inventory id=2', 'unknown branch XX');
    skipped('messy.db:inventory id=3', 'negative stock \\(-2\\)');
    skipped('messy.db:inventory id=4', 'product 3 was skipped \\(duplicate SKU MS-1');
    skipped('messy.db:inventory id=5', 'unknown product 99');
    skipped('messy.db:customers id=2', 'blank name');
    skipped('messy.db:customers id=3', 'invalid email "not-an-email"');
    skipped('messy.db:sales id=2', 'line at messy.db:sale_items id=3: unknown product 99');
    skipped('messy.db:sales id=3', 'invalid sale date "yesterday"');
    skipped('messy.db:sale_items id=5', 'unknown order 7');
    expect(r).toContain('## Skipped rows (17)');
    // The second run skips the same rows for the same reasons, and writes nothing.
    expect(again.counts.products).toEqual({ created: 0, updated: 0, unchanged: 3, skipped: 5 });
  });

  it('a row the database refuses at write time (a SKU taken meanwhile) is skipped with the reason; the rest of its batch is written', async () => {
    const race = sqliteFile(path.join(scratch.dir, 'race.db'), POS_SCHEMA, {
      products: [
        [1, 'RACE-1', 'First', 1, null, null, null],
        [2, 'RACE-2', 'Second', 2, null, null, null],
      ],
    });
    const result = await runImport({
      db,
      log: testLog,
      viewer: await importer(db.pool, 'admin@example.com'),
      copies: await openSources([race]),
      mapping: parseMapping({ namespace: 'race', records: { products: MAPPING.records.products } }),
      mappingName: 'test',
      dryRun: false,
      // Someone creates RACE-1 in Branchline after the plan was made, before it is written.
      onPlan: async () => {
        await t.db.pool.query(
          "INSERT INTO products (sku, name, unit_price) VALUES ('RACE-1', 'Made meanwhile', 5)",
        );
      },
    });
    expect(result.error).toBeUndefined();
    expect(result.counts.products).toEqual({ created: 1, updated: 0, unchanged: 0, skipped: 1 });
    expect(result.report).toMatch(
      /\| race\.db:products id=1 \| 1 \| refused by the database: .*products_sku_key/,
    );
    const rows = await t.db.pool.query("SELECT sku, name FROM products WHERE sku LIKE 'RACE-%' ORDER BY sku");
    expect(rows.rows).toEqual([
      { sku: 'RACE-1', name: 'Made meanwhile' },
      { sku: 'RACE-2', name: 'Second' },
    ]);
  });
});
