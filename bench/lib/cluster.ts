/**
 * The database of one benchmark run: a private embedded PostgreSQL in a temporary directory
 * (removed afterwards), migrated and seeded like a first `npm start`, plus the baseline's own
 * table. Branchline and the raw baselines run on the same cluster with the same settings, so
 * their ratios compare like with like.
 *
 * Baseline table `bench_products`: a copy of `products` with the same version-bump trigger and,
 * instead of the change log, a plain trigger that NOTIFYs the whole row (`row_to_json(NEW)`) on
 * channel `bench_row`: the usual hand-rolled "LISTEN/NOTIFY + WebSocket" design.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { seedSampleData } from '../../prisma/seed.ts';
import { generateToken, hashToken } from '../../src/auth/tokens.ts';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../../src/database/embedded-postgres.ts';
import { migrate } from '../../src/database/migrator.ts';
import { encodeCursor } from '../../src/listeners/cursor.ts';
import { createLogger } from '../../src/logger.ts';
import { freePort } from '../../tests/helpers/ports.ts';

/** PostgreSQL settings of every run (printed with the results). */
export const PG_SETTINGS = {
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  shared_buffers: '256MB',
  max_connections: 300,
} as const;

export const BASELINE_SQL = `
CREATE TABLE bench_products (LIKE products INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE bench_products ADD PRIMARY KEY (id);
INSERT INTO bench_products SELECT * FROM products;
CREATE FUNCTION bench_notify_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('bench_row', row_to_json(NEW)::text);
  RETURN NULL;
END
$$;
CREATE TRIGGER bench_products_stamp BEFORE INSERT OR UPDATE ON bench_products
  FOR EACH ROW EXECUTE FUNCTION branchline_stamp_row();
CREATE TRIGGER bench_products_notify AFTER UPDATE ON bench_products
  FOR EACH ROW EXECUTE FUNCTION bench_notify_row();
`;

export interface BenchDatabase {
  url: string;
  pool: pg.Pool;
  /** A bearer token of admin@example.com. */
  token: string;
  productIds: string[];
  branchIds: string[];
  /** The feed cursor of the newest change now (subscribing with it misses nothing after). */
  currentCursor(): Promise<string>;
  /** change_log ids of `tbl` after the cursor, in feed order. */
  changeIdsAfter(cursor: string, tbl: string): Promise<number[]>;
  stop(): Promise<void>;
}

/** Prepares a migrated database for benchmarks (sample data, baseline table, token). */
export async function benchDatabaseAt(url: string, stop: () => Promise<void>): Promise<BenchDatabase> {
  const log = createLogger(process.env.BENCH_LOG_LEVEL ?? 'warn');
  const pool = new pg.Pool({ connectionString: url, max: 8 });
  pool.on('error', () => {});
  try {
    await seedSampleData(pool, log);
    await pool.query(BASELINE_SQL);
    const token = generateToken();
    await pool.query(
      `INSERT INTO api_tokens (user_id, kind, name, token_hash)
       SELECT id, 'API', 'benchmark', $1 FROM users WHERE email = 'admin@example.com'`,
      [hashToken(token)],
    );
    const productIds = (await pool.query('SELECT id FROM products ORDER BY sku')).rows.map(
      (r) => r.id as string,
    );
    const branchIds = (await pool.query('SELECT id FROM branches ORDER BY code')).rows.map(
      (r) => r.id as string,
    );
    return {
      url,
      pool,
      token,
      productIds,
      branchIds,
      async currentCursor() {
        const { rows } = await pool.query(
          `SELECT branchline_feed_epoch() AS epoch,
                  last.xid::text AS xid, last.id::text AS id
             FROM (SELECT '0'::xid8 AS xid, 0::bigint AS id
                   UNION ALL
                   (SELECT c.xid, c.id FROM change_log c ORDER BY c.xid DESC, c.id DESC LIMIT 1)
                   ORDER BY 1 DESC, 2 DESC LIMIT 1) AS last`,
        );
        return encodeCursor(rows[0]);
      },
      async changeIdsAfter(cursor, tbl) {
        const [, xid, id] = cursor.split(':');
        const { rows } = await pool.query(
          `SELECT c.id::text AS id FROM change_log c
            WHERE (c.xid, c.id) > ($1::text::xid8, $2::bigint) AND c.tbl = $3
            ORDER BY c.xid, c.id`,
          [xid, id, tbl],
        );
        return rows.map((r) => Number(r.id));
      },
      async stop() {
        await pool.end();
        await stop();
      },
    };
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
}

/** A private embedded PostgreSQL in a temporary directory, migrated and prepared. */
export async function startBenchDatabase(): Promise<BenchDatabase> {
  const log = createLogger(process.env.BENCH_LOG_LEVEL ?? 'warn');
  const dir = await mkdtemp(path.join(tmpdir(), 'branchline-bench-'));
  let embedded: EmbeddedPostgres | undefined;
  try {
    embedded = await startEmbeddedPostgres({
      dir,
      port: await freePort(),
      log,
      settings: { ...PG_SETTINGS },
    });
    await embedded.ensureDatabase('bench');
    const url = embedded.urlFor('bench');
    await migrate(url, { log });
    const pgServer = embedded;
    return await benchDatabaseAt(url, async () => {
      await pgServer.stop();
      await rm(dir, { recursive: true, force: true });
    });
  } catch (err) {
    await embedded?.stop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
