/**
 * Fair shares under attack: one signed-in clerk must not starve everybody else with subscriptions.
 * Each test runs a real server in its own process (small caps passed as options) and a victim
 * asking `{ __typename }` and a signed-in `{ me }` from another address during the attack.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTarget, type Target, underAttack } from './helpers/attack.ts';
import { CHANGES, subscribeSse, subscribeWs, waitFor, wsClient } from './helpers/feed.ts';
import { errorCodes, openRaw, type RawSocket } from './helpers/raw-ws.ts';

/** What a screen subscribes with; `after` makes the server catch up from the log first. */
const CATCH_UP = `subscription CatchUp($after: String) { changes(after: $after) { cursor table op rowId data } }`;
const CHANGES_WRITTEN = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BOUND_MS = 3000;

/** The live end now (a cursor), as the clerk's screen would get it from a list query. */
async function cursorNow(t: Target): Promise<string> {
  const r = await t.gql<{ feedStatus: { cursor: string } }>('{ feedStatus { cursor } }', undefined, {
    token: t.tokens.clerk,
  });
  const cursor = r.data?.feedStatus.cursor;
  if (!cursor) throw new Error(`no cursor: ${JSON.stringify(r)}`);
  return cursor;
}

/**
 * Writes enough changes the clerk may see that a catch-up from `cursor` takes many pages, and
 * waits until the server's reader is past them (so they are all catch-up, none live).
 */
async function writeBacklog(t: Target, cursor: string): Promise<void> {
  await t.db.pool.query(
    `INSERT INTO customers (name) SELECT 'Backlog ' || g FROM generate_series(1, ${CHANGES_WRITTEN}) g`,
  );
  const deadline = Date.now() + 15_000;
  let last = cursor;
  for (;;) {
    await sleep(300);
    const now = await cursorNow(t);
    if (now !== cursor && now === last) return;
    if (Date.now() > deadline) throw new Error('the feed did not pass the backlog');
    last = now;
  }
}

interface Flood {
  subscribed: number;
  refused: number;
  /** Error codes other than the cap's refusal (a slow reader's end is expected too). */
  otherCodes: string[];
  /** The refusals' messages, each once. */
  messages: string[];
  closedEarly: number;
}

/**
 * Opens `sockets` sockets as the clerk and sends `perSocket` catch-up subscriptions on each, then
 * stops reading (the sockets are paused) for `holdMs`; afterwards reads what arrived and closes.
 * `distinct`: every subscription has its own document text (no two share an execution group).
 */
async function catchUpFlood(
  t: Target,
  opts: { sockets: number; perSocket: number; cursor: string; holdMs: number; distinct?: boolean },
): Promise<Flood> {
  const socks: RawSocket[] = [];
  for (let s = 0; s < opts.sockets; s++) {
    socks.push(openRaw(t.wsUrl, { init: { authorization: `Bearer ${t.tokens.clerk}` } }));
  }
  const acked = await Promise.all(socks.map((s) => s.acked));
  expect(acked.every(Boolean), 'every attacking socket is acknowledged').toBe(true);
  for (const [s, sock] of socks.entries()) {
    for (let i = 0; i < opts.perSocket; i++) {
      const query = opts.distinct ? `${CATCH_UP} # ${s}-${i}` : CATCH_UP;
      sock.send({
        id: `s${s}-${i}`,
        type: 'subscribe',
        payload: { query, variables: { after: opts.cursor } },
      });
    }
    sock.ws.pause();
  }
  // Keep the feed busy meanwhile: a few live changes per second for every subscription.
  const writer = setInterval(() => {
    void t.db.pool
      .query(`INSERT INTO customers (name) SELECT 'Live ' || g FROM generate_series(1, 5) g`)
      .catch(() => {});
  }, 250);
  await sleep(opts.holdMs);
  clearInterval(writer);
  for (const s of socks) s.ws.resume();
  await sleep(1000);
  const flood: Flood = {
    subscribed: opts.sockets * opts.perSocket,
    refused: 0,
    otherCodes: [],
    messages: [],
    closedEarly: 0,
  };
  for (const s of socks) {
    if (s.ws.readyState !== s.ws.OPEN) flood.closedEarly++;
    for (const [id, code] of errorCodes(s.messages)) {
      if (code === 'TOO_MANY_SUBSCRIPTIONS') flood.refused++;
      else flood.otherCodes.push(`${id}: ${code}`);
    }
    for (const m of s.messages) {
      const message = m.type === 'error' ? m.payload?.[0]?.message : undefined;
      if (message && !flood.messages.includes(message)) flood.messages.push(message);
    }
    s.ws.terminate();
  }
  return flood;
}

/** Every subscription ended once its socket closed (the server's own count, `feedStatus`). */
async function expectAllEnded(t: Target): Promise<void> {
  let open = -1;
  await waitFor(
    async () => {
      const r = await t.gql('{ feedStatus { subscriptions } }', undefined, { token: t.tokens.admin });
      open = r.data?.feedStatus.subscriptions ?? -1;
      return open === 0;
    },
    5000,
    'every subscription of the closed sockets to end',
  ).catch(() => {});
  expect(open, 'subscriptions still open after their sockets closed').toBe(0);
}

describe('caps: 20 subscriptions per user, 10 per connection', () => {
  let t: Target;
  let cursor: string;
  beforeAll(async () => {
    t = await startTarget({ shares: { subscriptionsPerUser: 20, subscriptionsPerConnection: 10 } });
    cursor = await cursorNow(t);
    await writeBacklog(t, cursor);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('300 non-reading catch-up subscriptions from one clerk on 10 sockets: all but 20 refused, others are served', async () => {
    const { result } = await underAttack(t, BOUND_MS, () =>
      catchUpFlood(t, { sockets: 10, perSocket: 30, cursor, holdMs: 4000 }),
    );
    expect(result.closedEarly).toBe(0);
    expect(result.refused).toBe(280);
    expect(result.messages).toContain(
      'Too many subscriptions: at most 20 subscriptions per user; end some before starting more',
    );
    for (const c of result.otherCodes) expect(c).toMatch(/SUBSCRIBER_TOO_SLOW$/);
    await expectAllEnded(t);
  });

  it('500 subscriptions on one socket: all but 10 refused, others are served', async () => {
    const { result } = await underAttack(t, BOUND_MS, () =>
      catchUpFlood(t, { sockets: 1, perSocket: 500, cursor, holdMs: 4000, distinct: true }),
    );
    expect(result.closedEarly).toBe(0);
    expect(result.refused).toBe(490);
    expect(result.messages).toContain(
      'Too many subscriptions: at most 10 subscriptions per connection; end some before starting more',
    );
    for (const c of result.otherCodes) expect(c).toMatch(/SUBSCRIBER_TOO_SLOW$/);
    await expectAllEnded(t);
  });

  it('counts graphql-ws and SSE subscriptions of a user together', async () => {
    const token = t.tokens.manager;
    const clients = [wsClient(t.wsUrl, token), wsClient(t.wsUrl, token)];
    const subs = Array.from({ length: 20 }, (_, i) =>
      subscribeWs(clients[i % 2] as (typeof clients)[0], CHANGES, {}, 'changes'),
    );
    const open = async () =>
      (await t.gql('{ feedStatus { subscriptions } }', undefined, { token: t.tokens.admin })).data?.feedStatus
        .subscriptions;
    await waitFor(async () => (await open()) === 20, 10_000, '20 subscriptions');
    const ended = (c: { ended: Promise<void> }) => Promise.race([c.ended, sleep(5000)]);
    const sse = subscribeSse(t.graphqlUrl, token, CHANGES, {}, 'changes');
    await ended(sse);
    sse.stop();
    expect(sse.errors[0]?.extensions?.code).toBe('TOO_MANY_SUBSCRIPTIONS');
    subs[0]?.stop();
    await waitFor(async () => (await open()) === 19, 10_000, 'one subscription to end');
    const sse2 = subscribeSse(t.graphqlUrl, token, CHANGES, {}, 'changes');
    await waitFor(async () => (await open()) === 20, 10_000, 'the SSE subscription');
    const extra = subscribeWs(clients[0] as (typeof clients)[0], CHANGES, {}, 'changes');
    await ended(extra);
    extra.stop();
    expect(extra.errors[0]?.extensions?.code).toBe('TOO_MANY_SUBSCRIPTIONS');
    sse2.stop();
    for (const s of subs) s.stop();
    for (const c of clients) await c.dispose();
    await expectAllEnded(t);
  });
});

describe('catch-up reads on their own pool', () => {
  let t: Target;
  afterAll(async () => {
    await t?.stop();
  });

  it('300 non-reading catch-up subscriptions with no effective cap: requests keep the API pool', async () => {
    t = await startTarget({
      shares: { subscriptionsPerUser: 10_000, subscriptionsPerConnection: 10_000 },
      // Small socket buffers: the subscribers stall (and end) after little work, so what is
      // measured is the database pool, not the CPU of sending 300 backlogs.
      feed: { catchUpPoolSize: 2, maxBufferedBytes: 256 * 1024 },
    });
    const cursor = await cursorNow(t);
    await writeBacklog(t, cursor);
    const { result } = await underAttack(t, BOUND_MS, () =>
      catchUpFlood(t, { sockets: 10, perSocket: 30, cursor, holdMs: 6000 }),
    );
    expect(result.refused).toBe(0);
    await expectAllEnded(t);
  });
});
