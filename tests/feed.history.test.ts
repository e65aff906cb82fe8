/**
 * A cursor is valid only in the history it came from. On a private embedded PostgreSQL:
 * - a data folder put back (a restore) while a server runs: that server notices, every open
 *   subscription ends with CURSOR_EXPIRED, cursors from the lost history are refused on both
 *   transports (also once the restored database has reused their transaction ids and log ids),
 *   a fresh subscriber gets every new change, and a live dashboard carries on;
 * - the same with every server stopped during the restore (nobody remembers the lost history):
 *   the cursors' own changes are not in the log, so they are refused; a cursor from before the
 *   lost part still resumes without a gap;
 * - PostgreSQL crashing with `synchronous_commit = off`: a change already delivered is lost, and
 *   its cursor is refused the same way.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { seedSampleData } from '../prisma/seed.ts';
import { type App, buildApp } from '../src/app.ts';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../src/database/embedded-postgres.ts';
import { migrate } from '../src/database/migrator.ts';
import { testLog } from './helpers/db.ts';
import { type Change, subscribeSse, subscribeWs, tokenFor, waitFor, wsClient } from './helpers/feed.ts';
import { freePort } from './helpers/ports.ts';

const run = promisify(execFile);

const CUSTOMERS = `subscription Feed($after: String) {
  changes(after: $after, tables: ["customers"]) { cursor rowId data }
}`;

let dir: string;
let cluster: EmbeddedPostgres;
let url: string;
let pool: pg.Pool;
let token: string;
let branchId: string;
const apps: App[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'branchline-history-'));
  cluster = await startEmbeddedPostgres({
    dir,
    port: await freePort(),
    log: testLog,
    // Asynchronous commits, written to the WAL only every 10 s: a crash loses the last ones.
    settings: { fsync: 'off', full_page_writes: 'off', synchronous_commit: 'off', wal_writer_delay: '10s' },
  });
  await cluster.ensureDatabase('branchline');
  url = cluster.urlFor('branchline');
  await migrate(url, { log: testLog });
  pool = new pg.Pool({ connectionString: url, max: 3 });
  pool.on('error', () => {});
  await seedSampleData(pool, testLog);
  token = await tokenFor(pool, 'admin@example.com');
  const b = await pool.query<{ id: string }>("SELECT id FROM branches WHERE code = 'DT'");
  branchId = b.rows[0]?.id as string;
}, 120_000);

afterAll(async () => {
  for (const app of apps) await app.stop().catch(() => {});
  await pool?.end().catch(() => {});
  await cluster?.stop().catch(() => {});
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function startApp(): Promise<{ app: App; base: string; wsUrl: string }> {
  const app = buildApp({
    databaseUrl: url,
    log: testLog,
    poolSize: 6,
    // No heartbeat commits to flush the WAL by accident (the crash test needs unflushed commits).
    feed: { pollMs: 300, heartbeatMs: 60_000 },
  });
  apps.push(app);
  const { url: base } = await app.start(0, '127.0.0.1');
  await app.services.feed.ready();
  return { app, base, wsUrl: `${base.replace(/^http/, 'ws')}/graphql` };
}

async function stopApp(app: App) {
  await app.stop();
  apps.splice(apps.indexOf(app), 1);
}

/** A clean stop, the data folder copied aside (or the copy put back), a start. */
async function copyData(to: string) {
  await cluster.stop();
  await run('cp', ['-a', cluster.dataDir, path.join(dir, to)]);
  await cluster.restart();
}
async function restoreData(from: string) {
  await cluster.stop();
  await rm(cluster.dataDir, { recursive: true, force: true });
  await run('cp', ['-a', path.join(dir, from), cluster.dataDir]);
  await cluster.restart();
}

async function insertCustomers(prefix: string, n: number) {
  for (let i = 0; i < n; i++)
    await pool.query('INSERT INTO customers (name) VALUES ($1)', [`${prefix}-${i}`]);
}

/** Commits one change per transaction until the database's transaction ids are past `xid`. */
async function insertPast(prefix: string, xid: string): Promise<number> {
  for (let i = 0; ; i++) {
    const { rows } = await pool.query<{ x: string }>(
      'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS x',
    );
    if (BigInt(rows[0]?.x as string) > BigInt(xid) + 1n) return i;
    if (i > 1000) throw new Error('transaction ids did not advance');
    await pool.query('INSERT INTO customers (name) VALUES ($1)', [`${prefix}-${i}`]);
  }
}

async function listCursor(base: string): Promise<string> {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ branches { feedCursor } }' }),
  });
  const body = (await res.json()) as { data?: { branches?: { feedCursor?: string } } };
  const cursor = body.data?.branches?.feedCursor;
  if (!cursor) throw new Error(`no feedCursor: ${JSON.stringify(body)}`);
  return cursor;
}

/** Subscribes from `cursor` on both transports and returns what each ended with (5 s at most). */
async function outcome(base: string, wsUrl: string, cursor: string) {
  const client = wsClient(wsUrl, token);
  const ws = subscribeWs<Change>(client, CUSTOMERS, { after: cursor }, 'changes');
  const sse = subscribeSse<Change>(`${base}/graphql`, token, CUSTOMERS, { after: cursor }, 'changes');
  await Promise.race([Promise.all([ws.ended, sse.ended]), new Promise((r) => setTimeout(r, 5000))]);
  ws.stop();
  sse.stop();
  await client.dispose();
  return {
    ws: ws.errors[0]?.extensions?.code ?? `${ws.events.length} events, no error`,
    sse: sse.errors[0]?.extensions?.code ?? `${sse.events.length} events, no error`,
  };
}

const xidOf = (cursor: string) => cursor.split(':')[1] as string;

it('notices a data folder put back under a running server: old cursors expire, new changes all arrive', async () => {
  const { app, base, wsUrl } = await startApp();
  const feed = app.services.feed;
  await copyData('backup-1');
  const client = wsClient(wsUrl, token);
  const opened = feed.opened;
  const live = subscribeWs<Change>(client, CUSTOMERS, {}, 'changes');
  const board = subscribeWs(
    client,
    'subscription ($b: ID!) { dashboard(branchId: $b) { stockValue } }',
    { b: branchId },
    'dashboard',
  );
  await feed.waitFor((f) => f.opened >= opened + 2, 20_000);
  await waitFor(() => board.events.length >= 1, 10_000, 'the first figures');

  // Changes of the history that the restore will lose, delivered to the live subscriber.
  await insertCustomers('lost', 10);
  await waitFor(() => live.events.length >= 10, 10_000, 'the changes to be lost');
  const lost = live.events.map((e) => e.cursor);

  await restoreData('backup-1');
  // The running server finds the log behind what it had read: every subscription of changes ends.
  await waitFor(() => live.errors.length > 0, 20_000, 'the live subscription to end');
  expect(live.errors[0]?.extensions?.code).toBe('CURSOR_EXPIRED');
  expect(await outcome(base, wsUrl, lost[9] as string)).toEqual({
    ws: 'CURSOR_EXPIRED',
    sse: 'CURSOR_EXPIRED',
  });

  // The restored database reuses the lost history's transaction ids (and log ids) for new changes.
  const fresh = await listCursor(base);
  const written = await insertPast('new', xidOf(lost[9] as string));
  expect(written).toBeGreaterThanOrEqual(10);
  for (const cursor of [lost[0], lost[4], lost[9]] as string[]) {
    expect(await outcome(base, wsUrl, cursor)).toEqual({ ws: 'CURSOR_EXPIRED', sse: 'CURSOR_EXPIRED' });
  }
  // A subscriber from a cursor of the new history gets every new change, once, in order.
  const c2 = wsClient(wsUrl, token);
  const ws = subscribeWs<Change>(c2, CUSTOMERS, { after: fresh }, 'changes');
  const sse = subscribeSse<Change>(`${base}/graphql`, token, CUSTOMERS, { after: fresh }, 'changes');
  const names = Array.from({ length: written }, (_, i) => `new-${i}`);
  await waitFor(() => ws.events.length >= written && sse.events.length >= written, 10_000, 'the new changes');
  await new Promise((r) => setTimeout(r, 200));
  expect(ws.events.map((e) => e.data?.name)).toEqual(names);
  expect(sse.events.map((e) => e.data?.name)).toEqual(names);
  expect(ws.errors).toEqual([]);

  // The dashboard was not stopped by the expiry: it still follows stock changes.
  await pool.query(
    'UPDATE stock_levels SET quantity = quantity + 3 WHERE id = (SELECT id FROM stock_levels WHERE branch_id = $1 ORDER BY id LIMIT 1)',
    [branchId],
  );
  const want = (
    await pool.query<{ v: string }>(
      `SELECT coalesce(sum(sl.quantity * p.unit_price), 0)::text AS v
         FROM stock_levels sl JOIN products p ON p.id = sl.product_id WHERE sl.branch_id = $1`,
      [branchId],
    )
  ).rows[0]?.v;
  await waitFor(() => board.events.at(-1)?.stockValue === want, 10_000, 'figures after the restore');
  expect(board.errors).toEqual([]);
  ws.stop();
  sse.stop();
  board.stop();
  await c2.dispose();
  await client.dispose();
  await stopApp(app);
}, 120_000);

it('refuses cursors of a lost history after a restore that no running server saw', async () => {
  let { app, base, wsUrl } = await startApp();
  await copyData('backup-2');
  const before = await listCursor(base);
  const client = wsClient(wsUrl, token);
  const got = subscribeWs<Change>(client, CUSTOMERS, { after: before }, 'changes');
  await insertCustomers('lost2', 5);
  await waitFor(() => got.events.length >= 5, 10_000, 'the changes to be lost');
  const lost = got.events.map((e) => e.cursor);
  got.stop();
  await client.dispose();
  await stopApp(app);

  await restoreData('backup-2');
  const written = await insertPast('new2', xidOf(lost[4] as string));
  ({ app, base, wsUrl } = await startApp());
  for (const cursor of lost) {
    expect(await outcome(base, wsUrl, cursor)).toEqual({ ws: 'CURSOR_EXPIRED', sse: 'CURSOR_EXPIRED' });
  }
  // A cursor from before the lost part is of this history too: it resumes with no gap.
  const c2 = wsClient(wsUrl, token);
  const ws = subscribeWs<Change>(c2, CUSTOMERS, { after: before }, 'changes');
  const sse = subscribeSse<Change>(`${base}/graphql`, token, CUSTOMERS, { after: before }, 'changes');
  const names = Array.from({ length: written }, (_, i) => `new2-${i}`);
  await waitFor(() => ws.events.length >= written && sse.events.length >= written, 10_000, 'the new changes');
  await new Promise((r) => setTimeout(r, 200));
  expect(ws.events.map((e) => e.data?.name)).toEqual(names);
  expect(sse.events.map((e) => e.data?.name)).toEqual(names);
  ws.stop();
  sse.stop();
  await c2.dispose();
  await stopApp(app);
}, 120_000);

it('refuses the cursor of a delivered change that a crash lost (synchronous_commit = off)', async () => {
  const { app, base, wsUrl } = await startApp();
  const feed = app.services.feed;
  const client = wsClient(wsUrl, token);
  const opened = feed.opened;
  const live = subscribeWs<Change>(client, CUSTOMERS, {}, 'changes');
  await feed.waitFor((f) => f.opened >= opened + 1, 20_000);
  // Committed asynchronously (the cluster's setting), delivered, then PostgreSQL crashes before
  // its WAL writer wrote the commit. (Should something flush the WAL first, the change survives:
  // then try again.)
  let delivered: Change | undefined;
  for (let attempt = 0; attempt < 3 && !delivered; attempt++) {
    const name = `crash-lost-${attempt}`;
    await pool.query('INSERT INTO customers (name) VALUES ($1)', [name]);
    await waitFor(() => live.events.some((e) => e.data?.name === name), 10_000, 'the change');
    const pid = Number.parseInt(
      (await readFile(path.join(cluster.dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0] ?? '',
      10,
    );
    process.kill(pid, 'SIGQUIT');
    await waitFor(
      () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      },
      10_000,
      'PostgreSQL to exit',
    );
    await cluster.restart();
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM customers WHERE name = $1', [name]);
    if (rows[0].n === 0) delivered = live.events.find((e) => e.data?.name === name);
  }
  if (!delivered) throw new Error('no crash lost the delivered commit');
  // The server that delivered it notices; its cursor is refused everywhere.
  await waitFor(() => live.errors.length > 0, 20_000, 'the live subscription to end');
  expect(live.errors[0]?.extensions?.code).toBe('CURSOR_EXPIRED');
  await insertPast('after-crash', xidOf(delivered.cursor));
  expect(await outcome(base, wsUrl, delivered.cursor)).toEqual({
    ws: 'CURSOR_EXPIRED',
    sse: 'CURSOR_EXPIRED',
  });
  await client.dispose();
  await stopApp(app);
}, 90_000);
