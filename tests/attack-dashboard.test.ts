/**
 * A live dashboard whose client is gone must stop all work at once, and one whose query keeps
 * failing must not re-run it every 250 ms for ever. The server runs in-process, so the test can
 * count the dashboard queries it sends to PostgreSQL; the failures are real (a renamed column, a
 * lock and terminated connections).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { subscribeWs, tokenFor, waitFor, wsClient } from './helpers/feed.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a dashboard nobody watches', () => {
  let t: TestApp;
  let app: App;
  let token: string;
  let branchId: string;
  beforeAll(async () => {
    t = await startTestApp({ seed: true });
    app = t.app;
    token = await tokenFor(t.db.pool, 'clerk.dt@example.com');
    const b = await t.db.pool.query<{ id: string }>("SELECT id FROM branches WHERE code = 'DT'");
    branchId = b.rows[0]?.id as string;
  });
  afterAll(async () => {
    await t?.stop();
  });

  const restoreColumn = () =>
    t.db.pool.query('ALTER TABLE products RENAME COLUMN unit_price_gone TO unit_price').catch(() => {});

  const DASHBOARD = `subscription ($b: ID!) { dashboard(branchId: $b) { orderCount at } }`;

  /** Counts the dashboard queries the server sends to PostgreSQL from now on. */
  function countDashboardQueries(): { readonly n: number; stop(): void } {
    const pool = app.services.db.pool;
    const original = pool.query;
    const counter = {
      n: 0,
      stop: () => {
        pool.query = original;
      },
    };
    pool.query = ((...args: Parameters<typeof original>) => {
      if (String(args[0]).includes('stock_levels sl JOIN products p')) counter.n++;
      return (original as (...a: unknown[]) => unknown).apply(pool, args);
    }) as typeof original;
    return counter;
  }

  it('stops querying once its client disconnected in the middle of a failing query', async () => {
    const counter = countDashboardQueries();
    const blocker = await t.db.pool.connect();
    try {
      // The dashboard's query waits behind this lock; when it is let go, the query fails.
      await blocker.query('BEGIN');
      await blocker.query('ALTER TABLE products RENAME COLUMN unit_price TO unit_price_gone');
      const client = wsClient(t.wsUrl, token);
      const sub = subscribeWs(client, DASHBOARD, { b: branchId }, 'dashboard');
      await waitFor(
        async () =>
          (
            await t.db.pool.query(
              "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%stock_levels sl%'",
            )
          ).rowCount === 1,
        10_000,
        'the dashboard query to wait for the lock',
      );
      sub.stop();
      await client.dispose();
      await app.services.feed.waitFor((f) => f.active === 0);
      await blocker.query('COMMIT');
      await sleep(300);
      const after = counter.n;
      await sleep(2000);
      expect(counter.n - after, 'dashboard queries after the client left').toBe(0);
    } finally {
      await blocker.query('ROLLBACK').catch(() => {});
      blocker.release();
      counter.stop();
      await restoreColumn();
    }
  });

  it('retries a query failing for a passing reason with a growing delay, only while watched', async () => {
    const counter = countDashboardQueries();
    const blocker = await t.db.pool.connect();
    let killing = true;
    let killer: Promise<void> = Promise.resolve();
    try {
      // Every dashboard query waits for this lock and has its connection terminated meanwhile
      // (57P01, a passing failure that is retried).
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE products IN ACCESS EXCLUSIVE MODE');
      killer = (async () => {
        while (killing) {
          await t.db.pool.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE wait_event_type = 'Lock' AND query LIKE '%stock_levels sl JOIN products p%'`,
          );
          await sleep(50);
        }
      })();
      const client = wsClient(t.wsUrl, token);
      const sub = subscribeWs(client, DASHBOARD, { b: branchId }, 'dashboard');
      await waitFor(() => counter.n >= 1, 10_000, 'the first dashboard query');
      const first = counter.n;
      await sleep(3000);
      // Retries 250 ms apart would be 12 more; doubling from 250 ms gives 0.5, 1.5 (and 3.5) s.
      expect(counter.n - first).toBeGreaterThanOrEqual(1);
      expect(counter.n - first).toBeLessThanOrEqual(4);
      expect(sub.errors).toEqual([]);
      sub.stop();
      await client.dispose();
      await app.services.feed.waitFor((f) => f.active === 0);
      const after = counter.n;
      await sleep(2000);
      expect(counter.n - after, 'dashboard queries after the client left').toBe(0);
    } finally {
      killing = false;
      await killer.catch(() => {});
      await blocker.query('ROLLBACK').catch(() => {});
      blocker.release();
      counter.stop();
    }
  });

  it('ends its subscribers when the query fails for good, and runs it no more', async () => {
    await t.db.pool.query('ALTER TABLE products RENAME COLUMN unit_price TO unit_price_gone');
    const counter = countDashboardQueries();
    try {
      const client = wsClient(t.wsUrl, token);
      const sub = subscribeWs(client, DASHBOARD, { b: branchId }, 'dashboard');
      await Promise.race([sub.ended, sleep(5000)]);
      expect(sub.errors[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      const after = counter.n;
      await sleep(2000);
      expect(counter.n - after, 'dashboard queries after the subscriber ended').toBe(0);
      await client.dispose();
    } finally {
      counter.stop();
      await restoreColumn();
    }
  });
});
