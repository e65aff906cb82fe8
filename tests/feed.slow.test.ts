/**
 * A subscriber that stops reading its socket: its buffer is bounded, its subscription ends with
 * SUBSCRIBER_TOO_SLOW (after everything it was sent, so it resumes from its last cursor without a
 * gap), and a fast subscriber of the same group is not held up meanwhile. Both paths: grouped
 * graphql-ws and the ordinary per-subscriber stream (SSE).
 */
import type { Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildApp } from '../src/app.ts';
import { createTestDatabase, type TestDatabase, testLog } from './helpers/db.ts';
import { type Change, subscribeSse, subscribeWs, tokenFor, waitFor, wsClient } from './helpers/feed.ts';

const QUERY = `subscription Feed($after: String) {
  changes(after: $after, tables: ["customers"]) { cursor rowId data }
}`;

let db: TestDatabase;
let app: ReturnType<typeof buildApp>;
let base: string;
let token: string;

beforeAll(async () => {
  db = await createTestDatabase({ seed: true });
  app = buildApp({
    databaseUrl: db.url,
    log: testLog,
    poolSize: 6,
    feed: { maxQueue: 300, maxBufferedBytes: 64 * 1024 },
  });
  base = (await app.start(0, '127.0.0.1')).url;
  await app.services.feed.ready();
  token = await tokenFor(db.pool, 'admin@example.com');
});
afterAll(async () => {
  await app?.stop();
  await db?.drop();
});

/** A graphql-transport-ws client by hand, whose TCP socket can be paused. */
async function rawSubscriber(query: string) {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const messages: any[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data))));
  await new Promise((r) => ws.once('open', r));
  ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  await waitFor(() => messages.some((m) => m.type === 'connection_ack'));
  ws.send(JSON.stringify({ id: 'slow', type: 'subscribe', payload: { query, variables: {} } }));
  return { ws, messages, socket: (ws as unknown as { _socket: Socket })._socket };
}

/**
 * Writes large customer rows (about 4 kB of JSON each) in small batches, about 1,000 a second, until
 * `done()` holds; returns how many were written.
 */
async function writeUntil(done: () => boolean, maxBatches = 800): Promise<number> {
  let written = 0;
  for (let i = 0; i < maxBatches && !done(); i++) {
    // Let the feed catch up with what was written before deciding to write more.
    if (i > 0 && i % 50 === 0) await waitFor(done, 500).catch(() => {});
    if (done()) break;
    await db.pool.query(
      "INSERT INTO customers (name, notes) SELECT 'slow-' || $1 || '-' || g, repeat(md5(g::text), 120) FROM generate_series(1, 25) g",
      [i],
    );
    written += 25;
    await new Promise((r) => setTimeout(r, 20));
  }
  return written;
}

it('ends a grouped graphql-ws subscriber that stops reading with SUBSCRIBER_TOO_SLOW; others keep pace', async () => {
  const feed = app.services.feed;
  const fastClient = wsClient(`${base.replace(/^http/, 'ws')}/graphql`, token);
  const opened = feed.opened;
  const fast = subscribeWs<Change>(fastClient, QUERY, {}, 'changes');
  const slow = await rawSubscriber(QUERY);
  await feed.waitFor((f) => f.opened >= opened + 2);
  expect(feed.fanout?.size).toBe(1);
  slow.socket.pause();
  const active = feed.active;
  const written = await writeUntil(() => feed.active < active);
  expect(fast.errors).toEqual([]);
  expect(feed.active).toBe(active - 1);
  // The fast subscriber got everything, without waiting for the slow one.
  await waitFor(() => fast.events.length >= written, 10_000, 'the fast subscriber');
  expect(fast.events).toHaveLength(written);

  slow.socket.resume();
  await waitFor(() => slow.messages.some((m) => m.type === 'error'), 10_000, 'the error message');
  const error = slow.messages.find((m) => m.type === 'error');
  expect(error.payload[0].extensions.code).toBe('SUBSCRIBER_TOO_SLOW');
  const got = slow.messages.filter((m) => m.type === 'next').map((m) => m.payload.data.changes.cursor);
  expect(got.length).toBeGreaterThan(0);
  expect(got.length).toBeLessThan(written);
  // What it received is exactly the start of the stream; resuming from its last cursor gives the rest.
  expect(got).toEqual(fast.events.slice(0, got.length).map((e) => e.cursor));
  const resumed = subscribeWs<Change>(fastClient, QUERY, { after: got[got.length - 1] }, 'changes');
  await waitFor(() => resumed.events.length >= written - got.length, 10_000, 'the resumed subscriber');
  expect([...got, ...resumed.events.map((e) => e.cursor)]).toEqual(fast.events.map((e) => e.cursor));
  slow.ws.terminate();
  fast.stop();
  resumed.stop();
  await fastClient.dispose();
}, 60_000);

it('ends an SSE subscriber that stops reading with SUBSCRIBER_TOO_SLOW, with bounded memory', async () => {
  const feed = app.services.feed;
  const abort = new AbortController();
  const opened = feed.opened;
  const res = fetch(`${base}/graphql`, {
    method: 'POST',
    signal: abort.signal,
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ query: QUERY, variables: {} }),
  });
  const fast = subscribeSse<Change>(`${base}/graphql`, token, QUERY, {}, 'changes');
  await feed.waitFor((f) => f.opened >= opened + 2);
  const response = await res;
  const active = feed.active;
  // Never read the slow response's body: its stream stops being pulled once buffers are full.
  const written = await writeUntil(() => feed.active < active);
  expect(fast.errors).toEqual([]);
  expect(feed.active).toBe(active - 1);
  await waitFor(() => fast.events.length >= written, 10_000, 'the fast SSE subscriber');
  expect(fast.events).toHaveLength(written);
  const text = await response.text();
  expect(text).toContain('SUBSCRIBER_TOO_SLOW');
  fast.stop();
  abort.abort();
}, 60_000);

it('lets subscribers that read but fall behind a burst larger than their buffers catch up from the log', async () => {
  const feed = app.services.feed;
  const client = wsClient(`${base.replace(/^http/, 'ws')}/graphql`, token);
  const opened = feed.opened;
  const ws = subscribeWs<Change>(client, QUERY, {}, 'changes');
  const sse = subscribeSse<Change>(`${base}/graphql`, token, QUERY, {}, 'changes');
  await feed.waitFor((f) => f.opened >= opened + 2);
  // One transaction of 1,500 rows of about 4 kB: 6 MB, far over both the 300-change queue and the
  // 64 kB socket limit, arriving at once.
  await db.pool.query(
    "INSERT INTO customers (name, notes) SELECT 'burst-' || g, repeat(md5(g::text), 120) FROM generate_series(1, 1500) g",
  );
  await waitFor(() => ws.events.length >= 1500 && sse.events.length >= 1500, 30_000, 'the whole burst');
  expect(ws.errors).toEqual([]);
  expect(sse.errors).toEqual([]);
  expect(ws.events.map((e) => e.data?.name)).toEqual(
    Array.from({ length: 1500 }, (_, i) => `burst-${i + 1}`),
  );
  expect(sse.events.map((e) => e.cursor)).toEqual(ws.events.map((e) => e.cursor));
  ws.stop();
  sse.stop();
  await client.dispose();
}, 60_000);
