/**
 * Spreadsheet exports: `;`-delimited CSV in Windows-1252 (Latin-1) with decimal commas and quoted
 * fields, and a UTF-8 one with a byte-order mark; delimiter, encoding and decimal comma detected.
 * Checks the database, the report, that a dry run and a second run change nothing, and that a
 * subscriber sees every imported change exactly once.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db.ts';
import { detectDelimiter, readCsv } from '../src/import/csv.ts';
import { openSources } from '../src/import/sources.ts';
import { suggestMapping } from '../src/import/suggest.ts';
import { parseDate, parseMoney } from '../src/import/values.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { importCycle, importDb, PRODUCTS_CSV, STOCK_CSV, scratchDir } from './helpers/import.ts';

let t: TestApp;
let db: Db;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let files: string[];

beforeAll(async () => {
  t = await startTestApp({ seed: true });
  db = importDb(t.db.url);
  scratch = await scratchDir();
  const products = path.join(scratch.dir, 'Artikel.csv');
  const stock = path.join(scratch.dir, 'Lagerbestand.csv');
  const customers = path.join(scratch.dir, 'customers.csv');
  await writeFile(products, iconv.encode(PRODUCTS_CSV, 'windows-1252'));
  await writeFile(stock, iconv.encode(STOCK_CSV, 'windows-1252'));
  await writeFile(
    customers,
    `\uFEFFname,email,phone\n"Łukasz Nowak",lukasz@example.pl,+48 22 000 00 00\nAnn Lee,ANN@example.org,\nOld Tom,,\n`,
  );
  files = [products, stock, customers];
});

afterAll(async () => {
  await db?.close();
  await t?.stop();
  await scratch?.remove();
});

describe('CSV detection', () => {
  it('finds the delimiter outside quotes, the encoding and the header', () => {
    expect(detectDelimiter('a;b;c\n1;"x, y";3\n')).toBe(';');
    expect(detectDelimiter('a,b\n1,2\n')).toBe(',');
    expect(detectDelimiter('a\tb\n1\t2\n')).toBe('\t');
    const copy = readCsv(iconv.encode(PRODUCTS_CSV, 'windows-1252'), 'Artikel.csv', 'Artikel.csv');
    expect(copy.notes[0]).toBe(
      'Artikel.csv: CSV, delimiter ";" (detected), encoding windows-1252 (detected), 5 row(s)',
    );
    const table = copy.tables.get('artikel');
    expect(table?.columns).toEqual(['Artikelnummer', 'Bezeichnung', 'Preis', 'Beschreibung']);
    expect(table?.rows[0]?.values).toMatchObject({
      Bezeichnung: 'Crème fraîche Löffel',
      Beschreibung: 'Edelstahl; 20 cm',
    });
    expect(table?.rows[1]?.location).toBe('Artikel.csv:line 3');
  });
});

describe('amounts and dates', () => {
  it('reads currency signs, thousands separators and decimal commas; refuses what is ambiguous', () => {
    const cases: [unknown, string | undefined][] = [
      ['12,50', '12.50'],
      ['€ 12,50', '12.50'],
      ['$12.5', '12.50'],
      ['1.234,50 €', '1234.50'],
      ['1,234.50', '1234.50'],
      ['EUR 9.90', '9.90'],
      [12.5, '12.50'],
      ['-3,00', '-3.00'],
      ['1,234', undefined], // 1.234 or 1234? said with --decimal
      ['twelve', undefined],
      ['', undefined],
    ];
    for (const [raw, want] of cases) expect([raw, parseMoney(raw)]).toEqual([raw, want]);
    expect(parseMoney('1,234', ',')).toBe('1.234'); // three decimals: the validator refuses it
    expect(parseMoney('1,234', '.')).toBe('1234.00');
    expect(parseDate('03.01.2026 14:05')?.toISOString()).toBe('2026-01-03T14:05:00.000Z');
    expect(parseDate('2026-01-03')?.toISOString()).toBe('2026-01-03T00:00:00.000Z');
    expect(parseDate('31.02.2026')).toBeUndefined();
  });
});

describe('import of CSV exports', () => {
  it('imports cleaned values, skips with reasons; dry run and second run change nothing; seen live once', async () => {
    const copies = await openSources(files);
    const suggested = suggestMapping(copies) as any;
    expect(suggested.records.products.fields).toMatchObject({
      sku: 'Artikelnummer',
      name: 'Bezeichnung',
      unitPrice: 'Preis',
    });
    expect(suggested.records.stock.fields).toMatchObject({
      productSku: 'Artikelnummer',
      branchCode: 'Filiale',
      quantity: 'Menge',
    });
    // What a person adds: the description column the guess left out.
    const mapping = {
      namespace: 'spreadsheets',
      records: {
        products: {
          from: 'artikel',
          fields: {
            sku: 'Artikelnummer',
            name: 'Bezeichnung',
            unitPrice: 'Preis',
            description: 'Beschreibung',
          },
        },
        stock: {
          from: 'lagerbestand',
          fields: { productSku: 'Artikelnummer', branchCode: 'Filiale', quantity: 'Menge' },
        },
        customers: { from: 'customers', fields: { name: 'name', email: 'email', phone: 'phone' } },
      },
    };
    const { dry, real } = await importCycle(t, db, copies, mapping);
    expect(dry.counts).toEqual(real.counts);
    expect(real.counts).toEqual({
      products: { created: 4, updated: 0, unchanged: 0, skipped: 1 },
      customers: { created: 3, updated: 0, unchanged: 0, skipped: 0 },
      stock: { created: 2, updated: 0, unchanged: 0, skipped: 2 },
    });
    const products = await t.db.pool.query(
      "SELECT sku, name, unit_price::text AS price, description FROM products WHERE sku LIKE 'CSV-%' ORDER BY sku",
    );
    expect(products.rows).toEqual([
      { sku: 'CSV-1', name: 'Crème fraîche Löffel', price: '12.50', description: 'Edelstahl; 20 cm' },
      { sku: 'CSV-2', name: 'Gartenschere "Profi"', price: '1299.00', description: null },
      { sku: 'CSV-3', name: 'Blumentopf groß', price: '3.50', description: null },
      { sku: 'CSV-5', name: 'Gießkanne', price: '9.90', description: null },
    ]);
    const customers = await t.db.pool.query(
      "SELECT name, email, phone FROM customers WHERE email IN ('lukasz@example.pl', 'ann@example.org') ORDER BY name",
    );
    expect(customers.rows).toEqual([
      { name: 'Ann Lee', email: 'ann@example.org', phone: null },
      { name: 'Łukasz Nowak', email: 'lukasz@example.pl', phone: '+48 22 000 00 00' },
    ]);
    // A customer with neither email nor phone is keyed by name (the first of them not blank).
    const tom = await t.db.pool.query("SELECT email, phone FROM customers WHERE name = 'Old Tom'");
    expect(tom.rows).toEqual([{ email: null, phone: null }]);
    expect(real.report).toContain('| products | Artikel.csv:line 5 | CSV-4 | blank name |');
    expect(real.report).toContain(
      '| stock levels | Lagerbestand.csv:line 4 | CSV-5\\|DT | negative stock (-1) |',
    );
    expect(real.report).toContain(
      '| stock levels | Lagerbestand.csv:line 5 | CSV-9\\|DT | unknown product SKU CSV-9 |',
    );
    expect(real.report).toContain(
      'Artikel.csv: CSV, delimiter ";" (detected), encoding windows-1252 (detected)',
    );
  });

  it('matches products by barcode when the SKU does not match; duplicate barcodes are skipped', async () => {
    const before = await t.db.pool.query(
      "UPDATE products SET barcode = '4006381333931' WHERE sku = 'SKU-0003' RETURNING id",
    );
    const file = path.join(scratch.dir, 'scanner.csv');
    await writeFile(
      file,
      [
        'sku;barcode;name;price',
        'NEW-7;4006381333931;Renamed thing;5,00',
        'BC-2;4012345678901;Other;1,00',
        'BC-3;4012345678901;Dup;1,00',
      ].join('\n'),
    );
    const mapping = {
      namespace: 'scanner',
      records: {
        products: {
          from: 'scanner',
          fields: { sku: 'sku', barcode: 'barcode', name: 'name', unitPrice: 'price' },
        },
      },
    };
    const { real } = await importCycle(t, db, await openSources([file]), mapping);
    expect(real.counts.products).toEqual({ created: 1, updated: 1, unchanged: 0, skipped: 1 });
    const rows = await t.db.pool.query(
      "SELECT id, sku, barcode, name FROM products WHERE barcode IN ('4006381333931', '4012345678901') ORDER BY barcode",
    );
    expect(rows.rows).toEqual([
      { id: before.rows[0].id, sku: 'NEW-7', barcode: '4006381333931', name: 'Renamed thing' },
      { id: expect.any(String), sku: 'BC-2', barcode: '4012345678901', name: 'Other' },
    ]);
    expect(real.report).toContain('duplicate barcode 4012345678901 (first at scanner.csv:line 3)');
  });
});
