/**
 * Part 6: import. A SQLite file shaped like a shop POS's (4 stores, `importProducts` products,
 * 4 stock rows per product: 50,000 and 200,000 in the full run) is imported with the importer
 * the CLI uses (src/import/run.ts: read, plan, then batches of 500 rows through writeTx, the
 * change-log triggers, IMPORT movements and the import map). Figure: source rows per second from
 * opening the file to the last commit; then a second run of the same file (nothing to change).
 * Baseline: the same rows loaded with a raw server-side COPY into copies of the tables with their
 * indexes and constraints but without triggers, in the same run. Checked afterwards: every row
 * arrived, every quantity equals the sum of its movements, and the second run wrote nothing.
 */
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { createDb } from '../../src/db.ts';
import { parseMapping } from '../../src/import/mapping.ts';
import { importer, runImport } from '../../src/import/run.ts';
import { openSources } from '../../src/import/sources.ts';
import { createLogger } from '../../src/logger.ts';
import type { BenchContext } from '../lib/context.ts';
import { now } from '../lib/stats.ts';

const STORES = 4;

const MAPPING = {
  namespace: 'bench',
  records: {
    branches: { from: 'stores', key: 'id', fields: { code: 'code', name: 'name' } },
    products: { from: 'products', key: 'id', fields: { sku: 'sku', name: 'name', unitPrice: 'price' } },
    stock: {
      from: 'inventory',
      key: 'id',
      fields: { product: 'product_id', branch: 'store_id', quantity: 'qty' },
    },
  },
};

function buildSource(file: string, products: number) {
  const db = new Database(file);
  db.exec(`CREATE TABLE stores (id INTEGER PRIMARY KEY, code TEXT, name TEXT);
           CREATE TABLE products (id INTEGER PRIMARY KEY, sku TEXT, name TEXT, price REAL);
           CREATE TABLE inventory (id INTEGER PRIMARY KEY, product_id INTEGER, store_id INTEGER, qty INTEGER);`);
  const store = db.prepare('INSERT INTO stores VALUES (?, ?, ?)');
  const product = db.prepare('INSERT INTO products VALUES (?, ?, ?, ?)');
  const stock = db.prepare('INSERT INTO inventory VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (let s = 1; s <= STORES; s++) store.run(s, `BI${s}`, `Bench store ${s}`);
    let line = 0;
    for (let p = 1; p <= products; p++) {
      product.run(p, `BI-${String(p).padStart(7, '0')}`, `Bench item ${p}`, ((p * 37) % 20_000) / 100 + 0.5);
      for (let s = 1; s <= STORES; s++) stock.run(++line, p, s, (p * 7 + s * 13) % 250);
    }
  })();
  db.close();
}

const COPY_TABLES = `
CREATE TABLE bench_copy_branches (LIKE branches INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
CREATE TABLE bench_copy_products (LIKE products INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
CREATE TABLE bench_copy_stock (LIKE stock_levels INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);`;

/** The raw baseline: the same rows as CSV, loaded with server-side COPY (no triggers). */
async function copyBaseline(
  ctx: BenchContext,
  dir: string,
  file: string,
): Promise<{ rows: number; seconds: number }> {
  const src = new Database(file, { readonly: true });
  const storeIds = new Map<number, string>();
  const productIds = new Map<number, string>();
  const branches = (
    src.prepare('SELECT id, code, name FROM stores').all() as { id: number; code: string; name: string }[]
  )
    .map((s) => {
      const id = randomUUID();
      storeIds.set(s.id, id);
      return `${id},${s.code},${s.name}`;
    })
    .join('\n');
  const products = (
    src.prepare('SELECT id, sku, name, price FROM products').all() as {
      id: number;
      sku: string;
      name: string;
      price: number;
    }[]
  )
    .map((p) => {
      const id = randomUUID();
      productIds.set(p.id, id);
      return `${id},${p.sku},${p.name},${p.price.toFixed(2)}`;
    })
    .join('\n');
  const stock = (
    src.prepare('SELECT product_id, store_id, qty FROM inventory').all() as {
      product_id: number;
      store_id: number;
      qty: number;
    }[]
  )
    .map((s) => `${storeIds.get(s.store_id)},${productIds.get(s.product_id)},${s.qty}`)
    .join('\n');
  src.close();
  const files = {
    branches: path.join(dir, 'branches.csv'),
    products: path.join(dir, 'products.csv'),
    stock: path.join(dir, 'stock.csv'),
  };
  await writeFile(files.branches, `${branches}\n`, { mode: 0o644 });
  await writeFile(files.products, `${products}\n`, { mode: 0o644 });
  await writeFile(files.stock, `${stock}\n`, { mode: 0o644 });
  await ctx.db.pool.query(COPY_TABLES);
  const t0 = now();
  await ctx.db.pool.query(
    `COPY bench_copy_branches (id, code, name) FROM '${files.branches}' WITH (FORMAT csv)`,
  );
  await ctx.db.pool.query(
    `COPY bench_copy_products (id, sku, name, unit_price) FROM '${files.products}' WITH (FORMAT csv)`,
  );
  await ctx.db.pool.query(
    `COPY bench_copy_stock (branch_id, product_id, quantity) FROM '${files.stock}' WITH (FORMAT csv)`,
  );
  const seconds = (now() - t0) / 1000;
  const { rows } = await ctx.db.pool.query(
    `SELECT (SELECT count(*) FROM bench_copy_branches) + (SELECT count(*) FROM bench_copy_products)
          + (SELECT count(*) FROM bench_copy_stock) AS n`,
  );
  return { rows: Number(rows[0].n), seconds };
}

export async function runImportBench(ctx: BenchContext): Promise<void> {
  const products = ctx.scale.importProducts;
  const sourceRows = STORES + products + products * STORES;
  const dir = await mkdtemp(path.join(tmpdir(), 'branchline-bench-import-'));
  await chmod(dir, 0o755);
  const log = createLogger(process.env.BENCH_LOG_LEVEL ?? 'warn');
  const db = createDb(
    { url: ctx.db.url, poolSize: 4, statementTimeoutMs: 120_000, idleInTransactionTimeoutMs: 60_000 },
    log,
  );
  try {
    const file = path.join(dir, 'pos.db');
    ctx.progress(
      `import: building a SQLite source of ${products} products and ${products * STORES} stock rows`,
    );
    buildSource(file, products);
    const viewer = await importer(db.pool, 'admin@example.com');
    const mapping = parseMapping(MAPPING);
    const logBefore = Number((await ctx.db.pool.query('SELECT count(*) AS n FROM change_log')).rows[0].n);

    ctx.progress('import: first run');
    const t0 = now();
    const copies = await openSources([file]);
    const tRead = now();
    let tPlan = 0;
    const first = await runImport({
      db,
      log,
      viewer,
      copies,
      mapping,
      mappingName: 'bench',
      dryRun: false,
      onPlan: () => {
        tPlan = now();
      },
    });
    const t1 = now();
    if (first.error) throw new Error(`import failed: ${first.error}`);
    const seconds = (t1 - t0) / 1000;
    const logAfter = Number((await ctx.db.pool.query('SELECT count(*) AS n FROM change_log')).rows[0].n);

    ctx.progress('import: second run (nothing to change)');
    const s0 = now();
    const second = await runImport({
      db,
      log,
      viewer,
      copies: await openSources([file]),
      mapping,
      mappingName: 'bench',
      dryRun: false,
    });
    const secondSeconds = (now() - s0) / 1000;
    const logAgain = Number((await ctx.db.pool.query('SELECT count(*) AS n FROM change_log')).rows[0].n);

    const check = await ctx.db.pool.query(
      `SELECT (SELECT count(*) FROM products WHERE sku LIKE 'BI-%')::int AS products,
              (SELECT count(*) FROM stock_levels s JOIN branches b ON b.id = s.branch_id WHERE b.code LIKE 'BI%')::int AS stock,
              (SELECT count(*) FROM stock_levels s
                WHERE s.quantity <> (SELECT coalesce(sum(delta), 0) FROM stock_movements m
                                      WHERE m.branch_id = s.branch_id AND m.product_id = s.product_id))::int AS off_ledger`,
    );
    const c = check.rows[0];
    const problems: string[] = [];
    if (c.products !== products) problems.push(`${c.products} of ${products} products`);
    if (c.stock !== products * STORES) problems.push(`${c.stock} of ${products * STORES} stock rows`);
    if (c.off_ledger !== 0) problems.push(`${c.off_ledger} stock rows differ from their movements`);
    if (logAgain !== logAfter) problems.push(`the second run wrote ${logAgain - logAfter} changes`);
    ctx.results.checks.push({
      part: 'import',
      system: 'branchline',
      phase: `${sourceRows} rows, then again`,
      subscribers: 0,
      expected: sourceRows,
      missing: problems.length,
      duplicates: 0,
      outOfOrder: 0,
      unexpected: 0,
      errors: problems,
    });

    ctx.progress('import: raw COPY baseline');
    const copy = await copyBaseline(ctx, dir, file);
    const rate = sourceRows / seconds;
    const copyRate = copy.rows / copy.seconds;
    ctx.results.add({
      part: 'Import',
      workload:
        `A SQLite POS file with ${STORES} stores, ${products} products and ${products * STORES} stock rows ` +
        `(${sourceRows} rows) imported by \`src/import\` (read, plan, batches of 500 rows per transaction through ` +
        'the triggers, IMPORT movements, import map), timed from opening the file to the last commit; then the same ' +
        'file again (nothing to change). Baseline: the same rows as CSV loaded with server-side COPY into copies of ' +
        'the tables with their indexes and constraints, without triggers.',
      figures: [
        {
          metric: 'first import',
          unit: 'rows/s',
          branchline: rate,
          baseline: copyRate,
          ratio: rate / copyRate,
        },
        {
          metric: 'second run (nothing to change)',
          unit: 'rows/s',
          branchline: sourceRows / secondSeconds,
          baseline: null,
          ratio: null,
        },
      ],
      details: {
        seconds,
        readSeconds: (tRead - t0) / 1000,
        planSeconds: (tPlan - tRead) / 1000,
        writeSeconds: (t1 - tPlan) / 1000,
        secondRunSeconds: secondSeconds,
        copySeconds: copy.seconds,
        changeLogRows: logAfter - logBefore,
        counts: first.counts,
        secondCounts: second.counts,
      },
    });
    ctx.progress(
      `import: ${rate.toFixed(0)} rows/s (${seconds.toFixed(1)} s: read ${((tRead - t0) / 1000).toFixed(1)}, plan ` +
        `${((tPlan - tRead) / 1000).toFixed(1)}, write ${((t1 - tPlan) / 1000).toFixed(1)}); COPY ${copyRate.toFixed(0)} rows/s; ` +
        `second run ${secondSeconds.toFixed(1)} s`,
    );
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
}
