/**
 * Part 3: write throughput. `updateProduct` (optimistic lock) and `adjustStock` (row lock + ledger)
 * over HTTP at 16 and 64 concurrent clients, next to the same SQL statements (captured from the
 * server with log_statement = all: the token lookup, `BEGIN; SELECT set_config(actor)` in one
 * round trip, the writes, COMMIT) sent by a raw `pg` pool of the server's size, on the same
 * tables with the same triggers. updateProduct: 4 round trips (one `UPDATE ... RETURNING *`);
 * adjustStock: 6 (existence checks and row lock in one statement, UPDATE ... RETURNING *, ledger
 * insert). Then the triggers' own cost: the raw SQL with and without the
 * change-log triggers (the version-bump triggers stay: optimistic locking needs them).
 *
 * Each client writes its own row (product i, stock level of branch i mod 3 and product i), so no
 * write conflicts; adjustStock alternates +1 / -1 so stock never runs out.
 */
import type pg from 'pg';
import { hashToken } from '../../src/auth/tokens.ts';
import type { BenchContext } from '../lib/context.ts';
import { closedLoop, graphqlClient } from '../lib/load.ts';
import { median } from '../lib/stats.ts';
import { System } from '../lib/systems.ts';
import { ProductPool, UPDATE_PRODUCT } from '../lib/writers.ts';

const POOL_SIZE = 16;
const ADJUST_STOCK = `mutation Bench($b: ID!, $p: ID!, $d: Int!) {
  adjustStock(branchId: $b, productId: $p, delta: $d, reason: "bench") {
    __typename
    ... on MutationAdjustStockSuccess { data { id quantity version } }
    ... on Error { message }
  }
}`;

const AUTH_SQL = `SELECT t.id AS token_id, u.id AS user_id, u.email, u.name, u.role,
  coalesce(array_agg(ub.branch_id) FILTER (WHERE ub.branch_id IS NOT NULL), '{}') AS branch_ids
  FROM api_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN user_branches ub ON ub.user_id = u.id
 WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now()) AND u.active
 GROUP BY t.id, u.id`;

async function inTx(pool: pg.Pool, token: string, body: (c: pg.PoolClient) => Promise<void>) {
  const c = await pool.connect();
  try {
    await c.query(AUTH_SQL, [hashToken(token)]);
    await c.query("BEGIN; SELECT set_config('app.actor', 'admin@example.com', true)");
    await body(c);
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}

function rawUpdateProduct(pool: pg.Pool, token: string, p: { id: string; version: number }, n: number) {
  return inTx(pool, token, async (c) => {
    const r = await c.query(
      'UPDATE products SET description = $3 WHERE id = $1 AND version = $2 RETURNING *',
      [p.id, p.version, `w:${n}`],
    );
    if (r.rowCount !== 1) throw new Error('raw updateProduct: version conflict');
    p.version = r.rows[0].version;
  });
}

let adminId = '';

function rawAdjustStock(pool: pg.Pool, token: string, branchId: string, productId: string, delta: number) {
  return inTx(pool, token, async (c) => {
    const locked = await c.query(
      `SELECT EXISTS (SELECT 1 FROM branches WHERE id = $1) AS branch_exists,
              EXISTS (SELECT 1 FROM products WHERE id = $2) AS product_exists, s.id, s.quantity
         FROM (SELECT 1) AS one
         LEFT JOIN LATERAL (
           SELECT id, quantity FROM stock_levels WHERE branch_id = $1 AND product_id = $2 FOR UPDATE
         ) AS s ON true`,
      [branchId, productId],
    );
    const row = locked.rows[0];
    await c.query('UPDATE stock_levels SET quantity = $1 WHERE id = $2 RETURNING *', [
      row.quantity + delta,
      row.id,
    ]);
    const now = new Date();
    await c.query(
      `INSERT INTO stock_movements (branch_id, product_id, kind, delta, reason, actor_id, created_at, updated_at)
       VALUES ($1, $2, 'ADJUSTMENT', $3, $4, $5, $6, $6)`,
      [branchId, productId, delta, 'bench', adminId, now],
    );
  });
}

type Op = 'updateProduct' | 'adjustStock';

/** One round of `op` at `clients` concurrency via GraphQL (port) or raw SQL (pool). */
async function round(ctx: BenchContext, op: Op, clients: number, via: { port: number } | { pool: pg.Pool }) {
  const products = await ProductPool.load(ctx.db.pool, 'products');
  const mine = await Promise.all(Array.from({ length: clients }, () => products.take()));
  const seconds = Math.min(ctx.scale.roundMs, 5000);
  let n = 0;
  const sign = mine.map(() => 1);
  const stock = (i: number) => ({ b: ctx.db.branchIds[i % 3] as string, p: (mine[i] as { id: string }).id });
  if ('port' in via) {
    const gql = graphqlClient(`http://127.0.0.1:${via.port}`, ctx.db.token, clients);
    const r = await closedLoop(clients, seconds, async (i) => {
      const p = mine[i] as { id: string; version: number };
      if (op === 'updateProduct') {
        const res = await gql.request<{ updateProduct: { data?: { version: number }; __typename: string } }>(
          UPDATE_PRODUCT,
          { id: p.id, v: p.version, d: `w:${n++}` },
        );
        if (!res.updateProduct.data) throw new Error(`updateProduct: ${res.updateProduct.__typename}`);
        p.version = res.updateProduct.data.version;
      } else {
        const res = await gql.request<{ adjustStock: { __typename: string } }>(ADJUST_STOCK, {
          ...stock(i),
          d: sign[i],
        });
        if (res.adjustStock.__typename !== 'MutationAdjustStockSuccess')
          throw new Error(res.adjustStock.__typename);
        sign[i] = -(sign[i] as number);
      }
    });
    gql.close();
    return r;
  }
  const pool = via.pool;
  return closedLoop(clients, seconds, async (i) => {
    const p = mine[i] as { id: string; version: number };
    if (op === 'updateProduct') await rawUpdateProduct(pool, ctx.db.token, p, n++);
    else {
      const s = stock(i);
      await rawAdjustStock(pool, ctx.db.token, s.b, s.p, sign[i] as number);
      sign[i] = -(sign[i] as number);
    }
  });
}

const LOG_TRIGGERS = [
  'products.products_log',
  'stock_levels.stock_levels_log',
  'stock_movements.stock_movements_log',
];

async function setLogTriggers(pool: pg.Pool, enabled: boolean) {
  for (const t of LOG_TRIGGERS) {
    const [table, trigger] = t.split('.');
    await pool.query(`ALTER TABLE ${table} ${enabled ? 'ENABLE' : 'DISABLE'} TRIGGER ${trigger}`);
  }
}

export async function runWrites(ctx: BenchContext): Promise<void> {
  const { default: pgModule } = await import('pg');
  const raw = new pgModule.Pool({ connectionString: ctx.db.url, max: POOL_SIZE });
  raw.on('error', () => {});
  adminId = (await raw.query("SELECT id FROM users WHERE email = 'admin@example.com'")).rows[0].id;
  const server = await System.start('branchline', ctx.db, ctx.serverNodeArgs);
  const seconds = Math.min(ctx.scale.roundMs, 5000) / 1000;
  try {
    for (const op of ['updateProduct', 'adjustStock'] as const) {
      ctx.progress(`write warm-up ${op}`);
      await round(ctx, op, 4, { port: server.port });
      await round(ctx, op, 4, { pool: raw });
      for (const clients of ctx.scale.writeConcurrency) {
        const gql: number[] = [];
        const sql: number[] = [];
        const failures: string[] = [];
        const cpu: number[] = [];
        const rawCpu: number[] = [];
        for (let r = 0; r < ctx.scale.rounds; r++) {
          ctx.progress(`write ${op} × ${clients} round ${r + 1}`);
          const cpu0 = await server.cpuMicros();
          const dir = r === 0 ? ctx.profileDir : null;
          const a = await server.profiled(dir, `write-${op}-${clients}`, () =>
            round(ctx, op, clients, { port: server.port }),
          );
          cpu.push(((await server.cpuMicros()) - cpu0) / Math.max(1, a.ops));
          const own0 = process.cpuUsage();
          const b = await round(ctx, op, clients, { pool: raw });
          const own = process.cpuUsage(own0);
          rawCpu.push((own.user + own.system) / Math.max(1, b.ops));
          gql.push(a.perSecond);
          sql.push(b.perSecond);
          failures.push(...a.errors, ...b.errors);
        }
        const g = median(gql);
        const s = median(sql);
        // The target holds only if every round (each a GraphQL round next to its raw SQL round) meets it.
        const ratios = gql.map((x, i) => x / (sql[i] as number));
        ctx.results.add({
          part: `Write throughput, ${op}, ${clients} concurrent clients`,
          workload:
            `${clients} clients in a closed loop for ${seconds} s × ${ctx.scale.rounds} rounds, each on its own row; ` +
            `Branchline: the ${op} mutation over HTTP (keep-alive) to the server (pool ${POOL_SIZE}); baseline: the ` +
            `same SQL statements via a raw pg pool of ${POOL_SIZE}, same tables and triggers.`,
          figures: [
            {
              metric: 'writes/s',
              unit: '/s',
              branchline: g,
              baseline: s,
              ratio: g / s,
            },
            ...gql.map((x, i) => ({
              metric: `writes/s, round ${i + 1}`,
              unit: '/s',
              branchline: x,
              baseline: sql[i] as number,
              ratio: ratios[i] as number,
              target: '≥ 0.5× raw SQL, every round',
              met: (ratios[i] as number) >= 0.5,
            })),
            {
              metric: 'CPU per write (Branchline: server; baseline: the raw pg client process)',
              unit: 'µs',
              branchline: median(cpu),
              baseline: median(rawCpu),
              ratio: median(cpu) / median(rawCpu),
            },
          ],
          details: {
            graphql: gql,
            sql,
            ratios,
            serverCpuPerWrite: cpu,
            rawClientCpuPerWrite: rawCpu,
            failures: failures.slice(0, 5),
          },
        });
      }
    }
    await server.stop();
    for (const op of ['updateProduct', 'adjustStock'] as const) {
      const withLog: number[] = [];
      const without: number[] = [];
      const clients = ctx.scale.writeConcurrency[0] ?? 16;
      for (let r = 0; r < ctx.scale.rounds; r++) {
        ctx.progress(`trigger cost ${op} round ${r + 1}`);
        withLog.push((await round(ctx, op, clients, { pool: raw })).perSecond);
        await setLogTriggers(ctx.db.pool, false);
        try {
          without.push((await round(ctx, op, clients, { pool: raw })).perSecond);
        } finally {
          await setLogTriggers(ctx.db.pool, true);
        }
      }
      const a = median(withLog);
      const b = median(without);
      ctx.results.add({
        part: `Trigger cost, ${op} (raw SQL)`,
        workload:
          `The raw SQL of ${op}, ${clients} clients, ${seconds} s × ${ctx.scale.rounds} rounds, no server running; ` +
          '"Branchline" column: with the change-log triggers (log row + NOTIFY); "Baseline" column: the same ' +
          'with the change-log triggers disabled (version bump kept).',
        figures: [{ metric: 'writes/s', unit: '/s', branchline: a, baseline: b, ratio: a / b }],
        details: { withLog, without },
      });
    }
  } finally {
    await server.stop();
    await raw.end();
  }
}
