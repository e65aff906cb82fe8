/**
 * The change feed end to end on a real server: graphql-ws and SSE, authorization (live and
 * catch-up), resuming from a cursor, expired and malformed cursors, grouping, the dashboard.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { comparePositions, encodeCursor, SNAPSHOT_POSITION_SQL } from '../src/listeners/cursor.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import {
  CHANGES,
  type Change,
  subscribeSse,
  subscribeWs,
  tokenFor,
  waitFor,
  wsClient,
} from './helpers/feed.ts';

let t: TestApp;
let admin: string;
let clerkDt: string;
let branches: Record<string, string>;
let productIds: string[];

async function cursorNow(): Promise<string> {
  const { rows } = await t.db.pool.query(SNAPSHOT_POSITION_SQL);
  return encodeCursor(rows[0]);
}

async function touchStock(branchCode: string, n: number) {
  await t.db.pool.query(
    `UPDATE stock_levels SET reorder_level = reorder_level + 1
      WHERE id IN (SELECT id FROM stock_levels WHERE branch_id = $1 ORDER BY id LIMIT $2)`,
    [branches[branchCode], n],
  );
}

beforeAll(async () => {
  t = await startTestApp({ seed: true });
  admin = await tokenFor(t.db.pool, 'admin@example.com');
  clerkDt = await tokenFor(t.db.pool, 'clerk.dt@example.com');
  const b = await t.db.pool.query<{ code: string; id: string }>('SELECT code, id FROM branches');
  branches = Object.fromEntries(b.rows.map((r) => [r.code, r.id]));
  productIds = (await t.db.pool.query<{ id: string }>('SELECT id FROM products ORDER BY sku')).rows.map(
    (r) => r.id,
  );
  await t.app.services.feed.ready();
  // Subscriptions without a cursor start at this process's live end. Wait until it is past the
  // sample data: while another database on the same cluster holds the horizon back, the reader
  // can still be behind the seed's changes, which would then arrive as live ones.
  const { rows } = await t.db.pool.query<{ xid: string; id: string }>(
    'SELECT xid::text, id::text FROM change_log ORDER BY xid DESC, id DESC LIMIT 1',
  );
  const last = rows[0];
  if (last) {
    const reader = t.app.services.feed.reader;
    await waitFor(
      () => reader.position !== null && comparePositions(reader.position, last) >= 0,
      30_000,
      'the feed to read past the sample data',
    );
  }
});
afterAll(async () => {
  await t?.stop();
});

describe('change feed', () => {
  it('delivers a write made with plain SQL over graphql-ws, grouped, and reports readiness', async () => {
    const feed = t.app.services.feed;
    const c1 = wsClient(t.wsUrl, admin);
    const c2 = wsClient(t.wsUrl, admin);
    const opened = feed.opened;
    const a = subscribeWs<Change>(c1, CHANGES, { tables: ['products'] }, 'changes');
    const b = subscribeWs<Change>(c2, CHANGES, { tables: ['products'] }, 'changes');
    await feed.waitFor((f) => f.opened >= opened + 2);
    const executions = feed.fanout?.executions ?? 0;
    await t.db.pool.query("UPDATE products SET name = name || ' (new)' WHERE id = $1", [productIds[0]]);
    await waitFor(() => a.events.length >= 1 && b.events.length >= 1, 5000, 'the update');
    const e = a.events[0] as Change & { changedFields: string[]; actor: string };
    expect(e).toMatchObject({
      table: 'products',
      op: 'UPDATE',
      rowId: productIds[0],
      changedFields: ['name'],
    });
    expect(e.actor).toMatch(/^db:/);
    expect(e.data?.name).toMatch(/\(new\)$/);
    expect(e.cursor).toMatch(/^[0-9a-f-]{36}:\d+:\d+(:\d+)?$/);
    expect(b.events).toEqual(a.events);
    // Same document, variables and access scope: one group, one execution for both subscribers.
    expect(feed.fanout?.size).toBe(1);
    expect(feed.fanout?.executions).toBe(executions + 1);
    // Clients can see the same readiness counters through GraphQL.
    const status = await t.gql(
      '{ feedStatus { cursor subscriptions opened groups listenerConnected } }',
      {},
      admin,
    );
    expect(status.data?.feedStatus).toMatchObject({ listenerConnected: true, groups: 1 });
    expect(status.data?.feedStatus.opened).toBeGreaterThanOrEqual(opened + 2);
    expect(status.data?.feedStatus.cursor).toMatch(/^[0-9a-f-]{36}:\d+:\d+(:\d+)?$/);
    a.stop();
    b.stop();
    await c1.dispose();
    await c2.dispose();
  });

  it('delivers over SSE too', async () => {
    const feed = t.app.services.feed;
    const opened = feed.opened;
    const s = subscribeSse<Change>(t.graphqlUrl, admin, CHANGES, { tables: ['customers'] }, 'changes');
    await feed.waitFor((f) => f.opened >= opened + 1);
    await t.db.pool.query("INSERT INTO customers (name) VALUES ('SSE Customer')");
    await waitFor(() => s.events.length >= 1, 5000, 'the SSE event');
    expect(s.events[0]).toMatchObject({ table: 'customers', op: 'INSERT' });
    expect(s.events[0]?.data?.name).toBe('SSE Customer');
    s.stop();
  });

  it('refuses a subscription without a valid token (graphql-ws: the socket closes with 4403; SSE: UNAUTHENTICATED)', async () => {
    const c = wsClient(t.wsUrl);
    const ws = subscribeWs(c, CHANGES, {}, 'changes');
    await ws.ended;
    expect(ws.errors[0]?.code).toBe(4403);
    await c.dispose();
    const sse = subscribeSse(t.graphqlUrl, 'bl_not-a-token', CHANGES, {}, 'changes');
    await sse.ended;
    expect(sse.errors[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('never delivers another branch or admin-only tables to a clerk, live or in catch-up', async () => {
    const feed = t.app.services.feed;
    const before = await cursorNow();
    const c = wsClient(t.wsUrl, clerkDt);
    const opened = feed.opened;
    const live = subscribeWs<Change>(c, CHANGES, {}, 'changes');
    const sseLive = subscribeSse<Change>(t.graphqlUrl, clerkDt, CHANGES, {}, 'changes');
    await feed.waitFor((f) => f.opened >= opened + 2);
    await touchStock('DT', 3);
    await touchStock('HB', 3);
    await touchStock('NG', 3);
    await t.db.pool.query("UPDATE users SET name = name || '.' WHERE email = 'admin@example.com'");
    await t.db.pool.query("UPDATE products SET name = name || '!' WHERE id = $1", [productIds[1]]);
    const marker = productIds[1];
    await waitFor(
      () => live.events.some((e) => e.rowId === marker) && sseLive.events.some((e) => e.rowId === marker),
    );
    // Catch-up from before the writes, on the grouped path (ws) and the ordinary one (SSE).
    const replay = subscribeWs<Change>(c, CHANGES, { after: before }, 'changes');
    const sseReplay = subscribeSse<Change>(t.graphqlUrl, clerkDt, CHANGES, { after: before }, 'changes');
    await waitFor(
      () => replay.events.some((e) => e.rowId === marker) && sseReplay.events.some((e) => e.rowId === marker),
      5000,
      'catch-up',
    );
    for (const events of [live.events, sseLive.events, replay.events, sseReplay.events]) {
      const stock = events.filter((e) => e.table === 'stock_levels');
      expect(stock).toHaveLength(3);
      expect(stock.every((e) => e.branchId === branches.DT)).toBe(true);
      expect(events.some((e) => e.table === 'users' || e.table === 'api_tokens')).toBe(false);
    }
    expect(replay.events.map((e) => e.cursor)).toEqual(live.events.map((e) => e.cursor));
    expect(sseReplay.events.map((e) => e.cursor)).toEqual(live.events.map((e) => e.cursor));
    // Asking for another branch outright is refused.
    const other = subscribeWs(c, CHANGES, { branchId: branches.HB }, 'changes');
    await other.ended;
    expect(other.errors[0]?.extensions?.code).toBe('FORBIDDEN');
    live.stop();
    replay.stop();
    sseLive.stop();
    sseReplay.stop();
    await c.dispose();
  });

  it('resumes from a cursor with every later change exactly once, catch-up merged with live', async () => {
    const feed = t.app.services.feed;
    const c = wsClient(t.wsUrl, admin);
    const opened = feed.opened;
    const all = subscribeWs<Change>(c, CHANGES, { tables: ['stock_levels'] }, 'changes');
    await feed.waitFor((f) => f.opened >= opened + 1);
    await touchStock('DT', 20);
    await waitFor(() => all.events.length >= 20);
    const resumeAt = all.events[9]?.cursor as string;
    // Writes keep coming while the resumed subscription catches up.
    const writing = (async () => {
      for (let i = 0; i < 10; i++) await touchStock('HB', 2);
    })();
    const resumed = subscribeWs<Change>(c, CHANGES, { tables: ['stock_levels'], after: resumeAt }, 'changes');
    await writing;
    await waitFor(() => all.events.length >= 40);
    await waitFor(() => resumed.events.length >= 30, 5000, 'the resumed subscription');
    await new Promise((r) => setTimeout(r, 100));
    expect(resumed.events.map((e) => e.cursor)).toEqual(all.events.slice(10).map((e) => e.cursor));
    all.stop();
    resumed.stop();
    await c.dispose();
  });

  it('answers an expired, foreign or malformed cursor with a code, never a silent gap', {
    retry: 1,
  }, async () => {
    const old = await cursorNow();
    await touchStock('DT', 5);
    await waitFor(() => {
      const p = t.app.services.feed.hub.position;
      return p !== null && BigInt(p.xid) >= BigInt(old.split(':')[1] as string);
    });
    const pruned = await t.app.services.feed.prune(0);
    expect(pruned.ran).toBe(true);
    expect(pruned.deleted).toBeGreaterThan(0);
    const c = wsClient(t.wsUrl, admin);
    const expired = subscribeWs(c, CHANGES, { after: old }, 'changes');
    const [, xid, id] = old.split(':');
    const foreign = subscribeWs(
      c,
      CHANGES,
      { after: `00000000-0000-4000-8000-000000000000:${xid}:${id}` },
      'changes',
    );
    const malformed = subscribeWs(c, CHANGES, { after: 'yesterday' }, 'changes');
    const sse = subscribeSse(t.graphqlUrl, admin, CHANGES, { after: old }, 'changes');
    // Each must end with its code: bounded, naming any that did not (once seen hanging in a CI
    // run under load, not reproduced since).
    const pending = new Set(['expired', 'foreign', 'malformed', 'sse']);
    const ends = { expired, foreign, malformed, sse };
    await Promise.race([
      Promise.all(Object.entries(ends).map(([k, s]) => s.ended.then(() => pending.delete(k)))),
      new Promise((r) => setTimeout(r, 20_000)),
    ]);
    expect([...pending], 'subscriptions that did not end').toEqual([]);
    expect(expired.errors[0]?.extensions?.code).toBe('CURSOR_EXPIRED');
    expect(foreign.errors[0]?.extensions?.code).toBe('CURSOR_EXPIRED');
    expect(malformed.errors[0]?.extensions?.code).toBe('BAD_CURSOR');
    expect(sse.errors[0]?.extensions?.code).toBe('CURSOR_EXPIRED');
    const state = await t.db.pool.query('SELECT pruned_xid, pruned_at FROM feed_state');
    expect(state.rows[0].pruned_xid).not.toBeNull();
    // A fresh cursor still works after pruning.
    const fresh = subscribeWs<Change>(
      c,
      CHANGES,
      { after: await cursorNow(), tables: ['stock_levels'] },
      'changes',
    );
    await touchStock('DT', 1);
    await waitFor(() => fresh.events.length >= 1);
    fresh.stop();
    await c.dispose();
  });

  it('keeps a live dashboard, recomputed at most every 250 ms under load', async () => {
    const feed = t.app.services.feed;
    const c = wsClient(t.wsUrl, admin);
    const query = `subscription ($b: ID!) { dashboard(branchId: $b) {
      branchId salesToday orderCount stockValue lowStockCount at } }`;
    const d = subscribeWs(c, query, { b: branches.DT }, 'dashboard');
    await waitFor(() => d.events.length >= 1, 5000, 'the first figures');
    const expected = async () =>
      (
        await t.db.pool.query(
          `SELECT coalesce(sum(sl.quantity * p.unit_price), 0)::text AS v,
                  count(*) FILTER (WHERE p.active AND sl.quantity <= sl.reorder_level)::int AS low
             FROM stock_levels sl JOIN products p ON p.id = sl.product_id WHERE sl.branch_id = $1`,
          [branches.DT],
        )
      ).rows[0];
    expect(d.events[0]).toMatchObject({ branchId: branches.DT, stockValue: (await expected()).v });
    const before = feed.dashboards.computations;
    const started = Date.now();
    for (let i = 0; i < 40; i++) {
      await t.db.pool.query(
        'UPDATE stock_levels SET quantity = quantity + 1, reorder_level = reorder_level + 2 WHERE branch_id = $1 AND product_id = $2',
        [branches.DT, productIds[i % productIds.length]],
      );
    }
    const want = await expected();
    await waitFor(
      () => {
        const last = d.events[d.events.length - 1];
        return last.stockValue === want.v && last.lowStockCount === want.low;
      },
      5000,
      'the final figures',
    );
    const elapsed = Date.now() - started;
    expect(feed.dashboards.computations - before).toBeLessThanOrEqual(Math.ceil(elapsed / 250) + 2);
    // A later subscriber of the same (grouped) dashboard starts with the current figures.
    const c2 = wsClient(t.wsUrl, admin);
    const d2 = subscribeWs(c2, query, { b: branches.DT }, 'dashboard');
    await waitFor(() => d2.events.length >= 1, 2000, 'the figures for a later subscriber');
    expect(d2.events[0]).toMatchObject({ stockValue: want.v, lowStockCount: want.low });
    d2.stop();
    await c2.dispose();
    d.stop();
    await c.dispose();
  });

  it('delivers typed changes: productChanged, stockLevels and orders of a branch', async () => {
    const feed = t.app.services.feed;
    const c = wsClient(t.wsUrl, clerkDt);
    const opened = feed.opened;
    const product = subscribeWs(
      c,
      'subscription ($id: ID!) { productChanged(id: $id) { id name unitPrice version updatedAt } }',
      { id: productIds[2] },
      'productChanged',
    );
    const stock = subscribeWs(
      c,
      'subscription ($b: ID!) { stockLevels(branchId: $b) { id branchId quantity reorderLevel lowStock version product { id sku } } }',
      { b: branches.DT },
      'stockLevels',
    );
    const orders = subscribeWs(
      c,
      'subscription ($b: ID!) { orders(branchId: $b) { id number status total branchId paidAt } }',
      { b: branches.DT },
      'orders',
    );
    await feed.waitFor((f) => f.opened >= opened + 3);
    await t.db.pool.query('UPDATE products SET unit_price = 12.34 WHERE id = $1', [productIds[2]]);
    await t.db.pool.query('UPDATE products SET unit_price = 99.99 WHERE id = $1', [productIds[3]]);
    await t.db.pool.query(
      'UPDATE stock_levels SET reorder_level = quantity + 1 WHERE branch_id = ANY($1::uuid[]) AND product_id = $2',
      [[branches.DT, branches.HB], productIds[2]],
    );
    const paid = await t.db.pool.query(
      `UPDATE orders SET status = 'PAID', paid_at = now()
        WHERE id IN (SELECT id FROM orders WHERE branch_id = $1 ORDER BY id LIMIT 2)
           OR id IN (SELECT id FROM orders WHERE branch_id = $2 ORDER BY id LIMIT 2)
        RETURNING id, branch_id`,
      [branches.DT, branches.HB],
    );
    const paidDt = paid.rows.filter((r) => r.branch_id === branches.DT).map((r) => r.id);
    expect(paidDt).toHaveLength(2);
    expect(paid.rows).toHaveLength(4);
    await waitFor(
      () => product.events.length >= 1 && stock.events.length >= 1 && orders.events.length >= paidDt.length,
      5000,
      'typed events',
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(product.events).toEqual([expect.objectContaining({ id: productIds[2], unitPrice: '12.34' })]);
    expect(stock.events).toHaveLength(1);
    expect(stock.events[0]).toMatchObject({
      branchId: branches.DT,
      lowStock: true,
      product: { id: productIds[2] },
    });
    expect(orders.events.map((o: { id: string }) => o.id).sort()).toEqual([...paidDt].sort());
    expect(
      orders.events.every((o: { status: string; paidAt: string }) => o.status === 'PAID' && o.paidAt),
    ).toBe(true);
    product.stop();
    stock.stop();
    orders.stop();
    await c.dispose();
  });
});
