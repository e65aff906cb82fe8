/**
 * The writes of the feed benchmarks, one per system:
 * - Branchline: `updateProduct(id, expectedVersion, patch: { description })` over HTTP, with the
 *   version each product had after its last write (each product is written by one write at a
 *   time, so no write conflicts).
 * - Baseline: the same UPDATE by a raw `pg` pool (autocommit) on `bench_products`.
 * Both tag the row with `b:<seq>` and record the time the commit was acknowledged.
 */
import type pg from 'pg';
import type { BenchDatabase } from './cluster.ts';
import { type GraphqlClient, graphqlClient, type Seqs } from './load.ts';
import { now } from './stats.ts';
import type { System } from './systems.ts';

export const UPDATE_PRODUCT = `mutation Bench($id: ID!, $v: Int!, $d: String) {
  updateProduct(id: $id, expectedVersion: $v, patch: { description: $d }) {
    __typename
    ... on MutationUpdateProductSuccess { data { id version } }
    ... on Error { message }
  }
}`;

type UpdateResult = { updateProduct: { __typename: string; data?: { version: number }; message?: string } };

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
  if (sys.kind === 'baseline') {
    return {
      async write() {
        const p = await products.take();
        const seq = seqs.take();
        try {
          await db.pool.query('UPDATE bench_products SET description = $2 WHERE id = $1', [p.id, `b:${seq}`]);
          seqs.committed(seq, now());
          sys.committed(seq);
        } finally {
          products.give(p);
        }
      },
      close() {},
    };
  }
  const client: GraphqlClient = graphqlClient(`http://127.0.0.1:${sys.port}`, db.token, 64);
  return {
    async write() {
      const p = await products.take();
      const seq = seqs.take();
      try {
        const res = await client.request<UpdateResult>(UPDATE_PRODUCT, {
          id: p.id,
          v: p.version,
          d: `b:${seq}`,
        });
        const r = res.updateProduct;
        if (!r.data) throw new Error(`updateProduct: ${r.__typename} ${r.message ?? ''}`);
        seqs.committed(seq, now());
        p.version = r.data.version;
      } finally {
        products.give(p);
      }
    },
    close: () => client.close(),
  };
}
