/**
 * The guarded listener on its own: a connection that goes silent without closing (a half-open
 * socket, simulated by a TCP proxy that stops forwarding) is noticed by the self-NOTIFY heartbeat
 * and replaced, and notifications flow again; a killed backend is replaced as well.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FEED_CHANNEL, Wakeup } from '../src/listeners/wakeup.ts';
import { createTestDatabase, type TestDatabase, testLog } from './helpers/db.ts';
import { waitFor } from './helpers/feed.ts';

let db: TestDatabase;
let proxy: Server;
let proxyUrl: string;
/** Connections through the proxy: [client side, server side]. */
const pairs: [Socket, Socket][] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  const target = new URL(db.url);
  proxy = createServer((client) => {
    const server = connect(Number(target.port), target.hostname);
    client.on('error', () => server.destroy());
    server.on('error', () => client.destroy());
    client.pipe(server);
    server.pipe(client);
    pairs.push([client, server]);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  const u = new URL(db.url);
  u.port = String((proxy.address() as { port: number }).port);
  proxyUrl = u.toString();
});
afterAll(async () => {
  for (const [a, b] of pairs) {
    a.destroy();
    b.destroy();
  }
  await new Promise((r) => proxy?.close(r));
  await db?.drop();
});

function startWakeup(pool: pg.Pool, wakes: string[]) {
  const w = new Wakeup({
    connectionString: proxyUrl,
    log: testLog,
    heartbeatMs: 300,
    silentMs: 900,
    onWake: (reason) => wakes.push(reason),
    sendHeartbeat: async (payload) => {
      await pool.query('SELECT pg_notify($1, $2)', [FEED_CHANNEL, payload]);
    },
  });
  w.start();
  return w;
}

it('replaces a listener whose connection went silent (half-open) and hears notifications again', async () => {
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const wakes: string[] = [];
  const w = startWakeup(pool, wakes);
  try {
    await waitFor(() => w.status().connected && pairs.length > 0, 5000, 'the listener');
    // Freeze every connection made so far: nothing is forwarded, nothing is closed.
    const frozen = pairs.length;
    for (const [client, server] of pairs.slice(0, frozen)) {
      client.unpipe();
      server.unpipe();
      client.pause();
      server.pause();
    }
    const heard = wakes.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(wakes.length - heard).toBeLessThanOrEqual(1);
    // A new connection is made through the proxy and notifications come through again.
    await waitFor(() => pairs.length > frozen && w.status().connected, 8000, 'a new listener connection');
    const before = wakes.filter((r) => r === 'notify').length;
    await pool.query("SELECT pg_notify('change_log', 'products')");
    await waitFor(() => wakes.filter((r) => r === 'notify').length > before, 5000, 'a notification');
    expect(wakes).toContain('connected');
    // Replaced by the heartbeat guard (pg-listen's own paranoid check would take 5 s or more).
    expect(w.status().rebuilds).toBeGreaterThanOrEqual(1);
  } finally {
    await w.stop();
    await pool.end();
  }
});

it('replaces a listener whose backend was terminated', async () => {
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const wakes: string[] = [];
  const w = startWakeup(pool, wakes);
  try {
    await waitFor(() => w.status().connected, 5000, 'the listener');
    const connectedBefore = wakes.filter((r) => r === 'connected').length;
    const killed = await pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE application_name = 'branchline-listener' AND datname = current_database()`,
    );
    expect(killed.rowCount).toBeGreaterThanOrEqual(1);
    await waitFor(() => wakes.filter((r) => r === 'connected').length > connectedBefore, 8000, 'a reconnect');
    const before = wakes.filter((r) => r === 'notify').length;
    await pool.query("SELECT pg_notify('change_log', 'orders')");
    await waitFor(() => wakes.filter((r) => r === 'notify').length > before, 5000, 'a notification');
  } finally {
    await w.stop();
    await pool.end();
  }
});
