/**
 * The writes of the feed benchmarks: the same raw SQL UPDATE for both systems, by a raw `pg` pool
 * (autocommit, one row per transaction), on `products` (Branchline: the change-log trigger) or
 * `bench_products` (baseline: the NOTIFY trigger with the row). Both tag the row with `b:<seq>`
 * and record the moment the commit was acknowledged to the writer, so the latency clock starts
 * at the same point for both (commit acknowledged, not a mutation's HTTP response, which comes
 * later and would flatter Branchline). `updateProduct` over HTTP is the write part's business.
 */
import type pg from 'pg';
import type { BenchDatabase } from './cluster.ts';
import type { Seqs } from './load.ts';
import { now } from './stats.ts';
import type { System } from './systems.ts';

export const UPDATE_PRODUCT = `mutation Bench($id: ID!, $v: Int!, $d: String) {
  updateProduct(id: $id, expectedVersion: $v, patch: { description: $d }) {
    __typename
    ... on MutationUpdateProductSuccess { data { id version } }
    ... on Error { message }
  }
}`;

/** Products free to write, with their current versions. */
export class ProductPool {
  private free: { id: string; version: number }[] = [];
  private waiters: (() => void)[] = [];

  static async load(pool: pg.Pool, table: string): Promise<ProductPool> {
    const p = new ProductPool();
    const { rows } = await pool.query(`SELECT id, version FROM ${table} ORDER BY id`);
    p.free = rows.map((r) => ({ id: r.id as string, version: r.version as number }));
    return p;
  }

  async take(): Promise<{ id: string; version: number }> {
    for (;;) {
      const p = this.free.shift();
      if (p) return p;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  give(p: { id: string; version: number }): void {
    this.free.push(p);
    this.waiters.shift()?.();
  }
}

export interface FeedWriter {
  write(): Promise<void>;
  close(): void;
}

export async function feedWriter(sys: System, db: BenchDatabase, seqs: Seqs): Promise<FeedWriter> {
  const products = await ProductPool.load(db.pool, sys.table);
  const sql = `UPDATE ${sys.table} SET description = $2 WHERE id = $1`;
  return {
    async write() {
      const p = await products.take();
      const seq = seqs.take();
      try {
        await db.pool.query(sql, [p.id, `b:${seq}`]);
        // The commit is acknowledged: the clock of every delivery of this change starts here.
        seqs.committed(seq, now());
        sys.committed(seq);
      } finally {
        products.give(p);
      }
    },
    close() {},
  };
}
