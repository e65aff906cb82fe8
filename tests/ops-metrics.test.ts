/**
 * Metrics and readiness (src/ops/): /metrics, /health and /ready answer internals only to the
 * token or a loopback client; the figures move as a scripted workload says they must; /ready goes
 * false when the listener's or the reader's connection is killed and true again after catch-up.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../src/app.ts';
import { createTestDatabase, type TestDatabase, testLog } from './helpers/db.ts';
import {
  CHANGES,
  type Change,
  type Collector,
  subscribeSse,
  subscribeWs,
  tokenFor,
  waitFor,
  wsClient,
} from './helpers/feed.ts';

const TOKEN = 'metrics-token-for-tests-0123456789';
let db: TestDatabase;
let app: App;
let url: string;
let admin: string;
let productId: string;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  db = await createTestDatabase({ seed: true });
  app = buildApp({
    databaseUrl: db.url,
    log: testLog,
    poolSize: 6,
    metricsToken: TOKEN,
    passwordHashCost: 10,
    login: { maxFailures: 1, firstDelayMs: 60_000 },
    feed: { heartbeatMs: 2000, pollMs: 1000 },
  });
  ({ url } = await app.start(0, '127.0.0.1'));
  admin = await tokenFor(db.pool, 'admin@example.com');
  productId = (await db.pool.query<{ id: string }>('SELECT id FROM products ORDER BY sku LIMIT 1')).rows[0]
    ?.id as string;
}, 60_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await app?.stop();
  await db?.drop();
});

async function gql(query: string, variables: Record<string, unknown> = {}, token = admin) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: any[] };
}

/** The metrics as a map of `name{labels}` to value. */
async function scrape(): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  const figures = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    figures.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return figures;
}
const get = (m: Map<string, number>, key: string) => m.get(key) ?? 0;
const waitForReady = () => waitFor(async () => (await fetch(`${url}/ready`)).status === 200, 10_000, 'ready');
const readyDetail = async () => JSON.stringify(await (await fetch(`${url}/ready`)).json());

const UPDATE = `mutation Rename($id: ID!, $v: Int!, $name: String!, $key: String) {
  updateProduct(id: $id, expectedVersion: $v, patch: { name: $name }, idempotencyKey: $key) {
    __typename ... on MutationUpdateProductSuccess { data { version } } } }`;

async function productVersion(): Promise<number> {
  return (await db.pool.query<{ version: number }>('SELECT version FROM products WHERE id = $1', [productId]))
    .rows[0]?.version as number;
}

describe('who sees what', () => {
  it('gives internals to loopback and the token only', async () => {
    const proxied = { 'x-forwarded-for': '203.0.113.9' };
    expect((await fetch(`${url}/metrics`, { headers: proxied })).status).toBe(403);
    const withToken = await fetch(`${url}/metrics`, {
      headers: { ...proxied, authorization: `Bearer ${TOKEN}` },
    });
    expect(withToken.status).toBe(200);
    expect(await withToken.text()).toContain('branchline_feed_lag_changes');
    const wrong = await fetch(`${url}/metrics`, {
      headers: { ...proxied, authorization: `Bearer ${TOKEN}x` },
    });
    expect(wrong.status).toBe(403);

    const health = await fetch(`${url}/health`, { headers: proxied });
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
    const ready = await fetch(`${url}/ready`, { headers: proxied });
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true });

    const detailed = await (await fetch(`${url}/ready`)).json();
    expect(detailed.ready).toBe(true);
    expect(detailed.checks.map((c: { name: string }) => c.name)).toEqual([
      'database',
      'migrations',
      'listener',
      'reader',
    ]);
    expect(detailed.checks.find((c: { name: string }) => c.name === 'migrations').detail).toMatch(
      /^\d+ applied$/,
    );
  });

  it('is not ready while a migration this code knows is not applied', async () => {
    await db.pool.query(
      `UPDATE _prisma_migrations SET rolled_back_at = now()
        WHERE migration_name = (SELECT max(migration_name) FROM _prisma_migrations)`,
    );
    try {
      const res = await fetch(`${url}/ready`);
      expect(res.status).toBe(503);
      const body = await res.json();
      expect(body.checks.find((c: { name: string }) => c.name === 'migrations')).toMatchObject({ ok: false });
    } finally {
      await db.pool.query('UPDATE _prisma_migrations SET rolled_back_at = NULL');
    }
    expect((await fetch(`${url}/ready`)).status).toBe(200);
  });
});

describe('figures under a scripted workload', () => {
  it('count connections, subscriptions, deliveries, requests, conflicts, replays, refusals and held-back rows', async () => {
    const before = await scrape();
    const client = wsClient(`${url.replace(/^http/, 'ws')}/graphql`, admin);
    cleanups.push(() => client.dispose());
    const subs: Collector<Change>[] = [];
    for (let i = 0; i < 3; i++)
      subs.push(subscribeWs<Change>(client, CHANGES, { tables: ['products'] }, 'changes'));
    const sse = subscribeSse<Change>(`${url}/graphql`, admin, CHANGES, { tables: ['products'] }, 'changes');
    cleanups.push(() => sse.stop());
    await app.services.feed.waitFor((f) => f.active >= 4);

    const during = await scrape();
    expect(get(during, 'branchline_websocket_connections')).toBe(1);
    expect(get(during, 'branchline_sse_connections')).toBe(1);
    expect(get(during, 'branchline_subscriptions_active')).toBe(4);
    expect(get(during, 'branchline_subscription_groups')).toBe(1);

    // Five renames: each reaches the three grouped subscribers (and the SSE one).
    for (let i = 0; i < 5; i++) {
      const r = await gql(UPDATE, { id: productId, v: await productVersion(), name: `Metric ${i}` });
      expect(r.data?.updateProduct.__typename).toBe('MutationUpdateProductSuccess');
    }
    // A stale version: a conflict. A repeated idempotency key: a replay.
    const stale = await gql(UPDATE, { id: productId, v: 1, name: 'Stale' });
    expect(stale.data?.updateProduct.__typename).toBe('VersionConflict');
    const v = await productVersion();
    await gql(UPDATE, { id: productId, v, name: 'Once', key: 'metrics-key-1' });
    await gql(UPDATE, { id: productId, v, name: 'Once', key: 'metrics-key-1' });
    await waitFor(
      () => subs.every((s) => s.events.length >= 6) && sse.events.length >= 6,
      10_000,
      'deliveries',
    );
    // A refused sign-in: one failure, then the throttle answers without checking.
    const LOGIN = `mutation SignIn($e: String!) { login(email: $e, password: "wrong") { __typename } }`;
    await gql(LOGIN, { e: 'clerk.dt@example.com' }, '');
    const refused = await gql(LOGIN, { e: 'clerk.dt@example.com' }, '');
    expect(refused.data?.login.__typename).toBe('TooManyAttempts');
    // An unauthenticated query: an error with a code.
    await gql('query Who { me { name } }', {}, 'not-a-token');

    const after = await scrape();
    const delta = (key: string) => get(after, key) - get(before, key);
    expect(delta('branchline_feed_deliveries_total')).toBeGreaterThanOrEqual(4 * 6); // 3 grouped + 1 SSE
    expect(delta('branchline_feed_delivery_latency_seconds_count')).toBeGreaterThanOrEqual(6);
    expect(delta('branchline_graphql_requests_total{operation="Rename",type="mutation",outcome="ok"}')).toBe(
      8,
    );
    expect(delta('branchline_version_conflicts_total{model="Product"}')).toBe(1);
    expect(delta('branchline_idempotent_replays_total{mutation="updateProduct"}')).toBe(1);
    expect(delta('branchline_login_refusals_total{reason="throttled"}')).toBe(1);
    expect([...after.keys()].some((k) => k.startsWith('branchline_graphql_errors_total{code='))).toBe(true);
    expect(get(after, 'branchline_feed_lag_changes')).toBe(0);
    expect(get(after, 'branchline_db_pool_connections{pool="api",state="total"}')).toBeGreaterThan(0);
    expect(after.has('branchline_db_pool_waiting{pool="catchup"}')).toBe(true);
    expect(after.has('branchline_ready'), await readyDetail()).toBe(true);

    // An open writing transaction holds back a change committed after it.
    const holder = new pg.Client({ connectionString: db.url, application_name: 'metrics test holder' });
    await holder.connect();
    cleanups.push(() => holder.end());
    await holder.query('BEGIN');
    await holder.query(`UPDATE branches SET name = name || ' ' WHERE code = 'NG'`);
    await new Promise((r) => setTimeout(r, 300));
    await gql(UPDATE, { id: productId, v: await productVersion(), name: 'Held' });
    const held = await scrape();
    expect(get(held, 'branchline_feed_held_back_rows')).toBeGreaterThanOrEqual(1);
    expect(get(held, 'branchline_oldest_transaction_seconds')).toBeGreaterThanOrEqual(0.3);
    await holder.query('ROLLBACK');
    await waitFor(
      () => subs.every((s) => s.events.some((e) => e.data?.name === 'Held')),
      5000,
      'the held change',
    );
    const released = await scrape();
    expect(get(released, 'branchline_feed_held_back_rows')).toBe(0);
    for (const s of subs) s.stop();
    sse.stop();
    await app.services.feed.waitFor((f) => f.active === 0);
    const gone = await scrape();
    expect(get(gone, 'branchline_subscriptions_active')).toBe(0);
    expect(get(gone, 'branchline_sse_connections')).toBe(0);
  }, 30_000);
});

describe('sync status for admins', () => {
  const SYNC = `query Sync { syncStatus { feedConnected lagChanges lastChangeAt conflictsToday screens adminScreens
    subscriptions branches { code screens } lastBackupAt } }`;

  it('counts screens per branch, conflicts today and the last change; null for others', async () => {
    const clerk = await tokenFor(db.pool, 'clerk.dt@example.com');
    const client = wsClient(`${url.replace(/^http/, 'ws')}/graphql`, clerk);
    cleanups.push(() => client.dispose());
    const sub = subscribeWs<Change>(client, CHANGES, {}, 'changes');
    await app.services.feed.waitFor((f) => f.active >= 1);
    await waitForReady();
    const res = await gql(SYNC);
    expect(res.errors).toBeUndefined();
    const st = res.data?.syncStatus;
    expect(st.feedConnected, await readyDetail()).toBe(true);
    expect(st.lagChanges).toBe(0);
    expect(st.conflictsToday).toBeGreaterThanOrEqual(1);
    expect(new Date(st.lastChangeAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(st.screens).toBe(1);
    expect(st.branches).toContainEqual({ code: 'DT', screens: 1 });
    expect(st.branches).toContainEqual({ code: 'HB', screens: 0 });
    expect((await gql(SYNC, {}, clerk)).data?.syncStatus).toBeNull();
    sub.stop();
  });
});

describe('readiness follows the feed connections', () => {
  async function kill(applicationName: string): Promise<number> {
    const { rowCount } = await db.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE application_name = $1 AND datname = current_database()`,
      [applicationName],
    );
    return rowCount ?? 0;
  }

  /** Kills `name`'s connection while polling /ready; resolves with the refusals seen. */
  async function killAndWatch(name: string, check: 'listener' | 'reader') {
    const seen: string[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const res = await fetch(`${url}/ready`);
        if (res.status === 503) {
          const body = await res.json();
          const failed = body.checks.find((c: { name: string; ok: boolean }) => !c.ok);
          seen.push(`${failed.name}: ${failed.detail}`);
        } else await res.arrayBuffer();
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    let killed = 0;
    for (let i = 0; i < 3 && !seen.some((s) => s.startsWith(check)); i++) {
      killed += await kill(name);
      await waitFor(() => seen.some((s) => s.startsWith(check)), 1500, 'not ready').catch(() => {});
    }
    polling = false;
    await poller;
    expect(killed).toBeGreaterThan(0);
    return seen;
  }

  it('goes false when the listener connection is killed, and true again after catch-up', async () => {
    await waitForReady();
    const seen = await killAndWatch('branchline-listener', 'listener');
    expect(seen.some((s) => s.startsWith('listener: not connected'))).toBe(true);
    await waitFor(async () => (await fetch(`${url}/ready`)).status === 200, 10_000, 'ready again');
    const m = await scrape();
    expect(get(m, 'branchline_listener_reconnects_total')).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('goes false when the reader connection is killed, and true again once it caught up (nothing lost)', async () => {
    const client = wsClient(`${url.replace(/^http/, 'ws')}/graphql`, admin);
    cleanups.push(() => client.dispose());
    const sub = subscribeWs<Change>(client, CHANGES, { tables: ['products'] }, 'changes');
    await app.services.feed.waitFor((f) => f.active >= 1);
    await waitForReady();
    const seen = await killAndWatch('branchline-feed-reader', 'reader');
    expect(seen.some((s) => s.startsWith('reader:'))).toBe(true);
    // A change committed meanwhile is delivered once the reader is back.
    await gql(UPDATE, { id: productId, v: await productVersion(), name: 'After the reader came back' });
    await waitFor(async () => (await fetch(`${url}/ready`)).status === 200, 10_000, 'ready again');
    await waitFor(
      () => sub.events.some((e) => e.data?.name === 'After the reader came back'),
      5000,
      'delivery',
    );
    sub.stop();
  }, 30_000);
});
