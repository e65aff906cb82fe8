/**
 * Two diverging copies of one database (the per-user copies of the old NAS setup): rows that
 * agree are imported once, rows only one copy has are imported, and rows that differ are listed
 * side by side in the report with each copy's updated_at and updated_by; the mapping decides the
 * winner (newest, a named copy, or ask with per-row choices), and what nobody decided is skipped.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db.ts';
import { openSources } from '../src/import/sources.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import {
  checksumAll,
  importCycle,
  importDb,
  importInto,
  POS_SCHEMA,
  scratchDir,
  sqliteFile,
} from './helpers/import.ts';

let t: TestApp;
let db: Db;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let anna: string;
let bob: string;

const product = (id: number, sku: string, name: string, price: number, at: string | null, by: string) => [
  id,
  sku,
  name,
  price,
  null,
  at,
  by,
];

beforeAll(async () => {
  t = await startTestApp({ seed: true });
  db = importDb(t.db.url);
  scratch = await scratchDir();
  await mkdir(path.join(scratch.dir, 'anna'));
  await mkdir(path.join(scratch.dir, 'bob'));
  anna = sqliteFile(path.join(scratch.dir, 'anna', 'shop.db'), POS_SCHEMA, {
    products: [
      product(1, 'CP-1', 'Kettle', 20, '2026-01-01 10:00:00', 'anna'),
      product(2, 'CP-2', 'Toaster', 30, '2026-01-02 10:00:00', 'anna'),
      product(3, 'CP-3', 'Mixer', 50, '2026-01-05 10:00:00', 'anna'),
      product(5, 'CP-5', 'Grinder', 15, '2026-01-06 10:00:00', 'anna'),
    ],
    inventory: [[1, 1, 'DT', 10, null, null, null]],
  });
  bob = sqliteFile(path.join(scratch.dir, 'bob', 'shop.db'), POS_SCHEMA, {
    products: [
      product(1, 'CP-1', ' Kettle ', 20, '2026-01-01 10:00:00', 'anna'),
      product(2, 'CP-2', 'Toaster', 32, '2026-01-03 09:00:00', 'bob'),
      product(3, 'CP-3', 'Stand mixer', 50, '2026-01-04 10:00:00', 'bob'),
      product(4, 'CP-4', 'Blender', 45, '2026-01-04 11:00:00', 'bob'),
      product(5, 'CP-5', 'Grinder', 16, '2026-01-06 10:00:00', 'bob'),
    ],
    inventory: [[1, 1, 'DT', 8, null, null, null]],
  });
});

afterAll(async () => {
  await db?.close();
  await t?.stop();
  await scratch?.remove();
});

const mapping = (copies: Record<string, unknown>) => ({
  namespace: 'nas',
  records: {
    products: { from: 'products', fields: { sku: 'sku', name: 'name', unitPrice: 'price' } },
    stock: { from: 'inventory', fields: { product: 'product_id', branchCode: 'store', quantity: 'qty' } },
  },
  copies,
});

describe('import of two diverging copies of one database', () => {
  it('asks by default: differing rows are listed and skipped, nothing chosen silently', async () => {
    const before = await checksumAll(t.db.pool);
    const dry = await importInto(db, await openSources([anna, bob]), mapping({}), { dryRun: true });
    expect(await checksumAll(t.db.pool)).toEqual(before);
    expect(dry.plan.conflicts.map((c) => [c.type, c.key, c.fields, c.winner])).toEqual([
      ['products', '2', ['unitPrice'], null],
      ['products', '3', ['name'], null],
      ['products', '5', ['unitPrice'], null],
      ['stock', '1', ['quantity'], null],
    ]);
    expect(dry.counts.products).toEqual({ created: 2, updated: 0, unchanged: 0, skipped: 3 });
    expect(dry.report).toContain('not decided: add "products:2": "<copy>" to copies.resolve');
  });

  it('newest wins where updated_at tells, per-row choices settle the rest; seen live once; re-run changes nothing', async () => {
    const copies = await openSources([anna, bob]);
    expect(copies.map((c) => c.name)).toEqual(['anna/shop.db', 'bob/shop.db']);
    const m = mapping({ winner: 'newest', resolve: { 'stock:1': 'bob/shop.db' } });
    const { real } = await importCycle(t, db, copies, m);

    const rows = await t.db.pool.query(
      "SELECT sku, name, unit_price::text AS price FROM products WHERE sku LIKE 'CP-%' ORDER BY sku",
    );
    expect(rows.rows).toEqual([
      { sku: 'CP-1', name: 'Kettle', price: '20.00' },
      { sku: 'CP-2', name: 'Toaster', price: '32.00' },
      { sku: 'CP-3', name: 'Mixer', price: '50.00' },
      { sku: 'CP-4', name: 'Blender', price: '45.00' },
    ]);
    const stock = await t.db.pool.query(
      "SELECT s.quantity FROM stock_levels s JOIN products p ON p.id = s.product_id WHERE p.sku = 'CP-1'",
    );
    expect(stock.rows).toEqual([{ quantity: 8 }]);

    expect(real.plan.conflicts.map((c) => [c.key, c.winner, c.why])).toEqual([
      ['2', 'bob/shop.db', 'newest updated_at'],
      ['3', 'anna/shop.db', 'newest updated_at'],
      ['5', null, 'not decided: the newest updated_at is the same in two copies'],
      ['1', 'bob/shop.db', 'chosen in the mapping (copies.resolve)'],
    ]);
    // Side by side, with each copy's updated_at and updated_by.
    const r = real.report;
    expect(r).toContain('## Conflicts between copies (4)');
    expect(r).toContain(
      [
        '### products 2',
        '',
        '| | anna/shop.db | bob/shop.db |',
        '| --- | --- | --- |',
        '| where | anna/shop.db:products id=2 | bob/shop.db:products id=2 |',
        '| updated_at | 2026-01-02T10:00:00.000Z | 2026-01-03T09:00:00.000Z |',
        '| updated_by | anna | bob |',
        '| **unitPrice** | 30.00 | 32.00 |',
        '',
        'Taken: **bob/shop.db** (newest updated_at).',
      ].join('\n'),
    );
    expect(r).toContain('Not taken (skipped): not decided: the newest updated_at is the same in two copies.');
    expect(r).toMatch(
      /\| products \| anna\/shop\.db:products id=5 \| 5 \| differs between copies \(unitPrice\)/,
    );
  });

  it('a named copy wins every conflict it is part of', async () => {
    const plan = await importInto(db, await openSources([anna, bob]), mapping({ winner: 'anna/shop.db' }), {
      dryRun: true,
    });
    expect(plan.plan.conflicts.every((c) => c.winner === 'anna/shop.db')).toBe(true);
  });
});
