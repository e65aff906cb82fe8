/**
 * Fair shares under attack: one signed-in clerk must not starve everybody else with subscriptions.
 * Each test runs a real server in its own process (small caps passed as options) and a victim
 * asking `{ __typename }` and a signed-in `{ me }` from another address during the attack.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startTarget, type Target, underAttack } from './helpers/attack.ts';
import { errorCodes, openRaw, type RawSocket } from './helpers/raw-ws.ts';

/** What a screen subscribes with; `after` makes the server catch up from the log first. */
const CATCH_UP = `subscription CatchUp($after: String) { changes(after: $after) { cursor table op rowId data } }`;
const CHANGES_WRITTEN = 5000;
const BOUND_MS = 3000;

let target: Target | undefined;
afterEach(async () => {
  await target?.stop();
  target = undefined;
});

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
    await new Promise((r) => setTimeout(r, 300));
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
  await new Promise((r) => setTimeout(r, opts.holdMs));
  clearInterval(writer);
  for (const s of socks) s.ws.resume();
  await new Promise((r) => setTimeout(r, 1000));
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
    const refusal = s.messages.find((m) => m.type === 'error');
    if (refusal) flood.messages.push(refusal.payload?.[0]?.message);
    s.ws.terminate();
  }
  return flood;
}

describe('fair shares of subscriptions', () => {
  it('300 non-reading catch-up subscriptions from one clerk: the per-user cap refuses the rest, others are served', async () => {
    target = await startTarget({ shares: { subscriptionsPerUser: 20 } });
    const t = target;
    const cursor = await cursorNow(t);
    await writeBacklog(t, cursor);
    const { result } = await underAttack(t, BOUND_MS, () =>
      catchUpFlood(t, { sockets: 10, perSocket: 30, cursor, holdMs: 6000 }),
    );
    expect(result.closedEarly).toBe(0);
    expect(result.refused).toBeGreaterThanOrEqual(270);
    expect(result.refused).toBeLessThanOrEqual(280);
    expect(result.messages.some((m) => /at most 20 subscriptions per user/.test(m ?? ''))).toBe(true);
    for (const c of result.otherCodes) expect(c).toMatch(/SUBSCRIBER_TOO_SLOW$/);
  });

  it('the same 300 with no effective cap: catch-up reads run on their own pool, the API pool stays free', async () => {
    target = await startTarget({
      shares: { subscriptionsPerUser: 10_000, subscriptionsPerConnection: 10_000 },
      feed: { catchUpPoolSize: 2, maxBufferedBytes: 256 * 1024 },
    });
    const t = target;
    const cursor = await cursorNow(t);
    await writeBacklog(t, cursor);
    const { result } = await underAttack(t, BOUND_MS, () =>
      catchUpFlood(t, { sockets: 10, perSocket: 30, cursor, holdMs: 6000 }),
    );
    expect(result.refused).toBe(0);
  });

  it('500 subscriptions on one socket: the per-connection cap refuses the rest, others are served', async () => {
    target = await startTarget({ shares: { subscriptionsPerConnection: 40, subscriptionsPerUser: 10_000 } });
    const t = target;
    const cursor = await cursorNow(t);
    await writeBacklog(t, cursor);
    const { result } = await underAttack(t, BOUND_MS, () =>
      catchUpFlood(t, { sockets: 1, perSocket: 500, cursor, holdMs: 6000, distinct: true }),
    );
    expect(result.closedEarly).toBe(0);
    expect(result.refused).toBeGreaterThanOrEqual(460);
    expect(result.messages.some((m) => /at most 40 subscriptions per connection/.test(m ?? ''))).toBe(true);
    for (const c of result.otherCodes) expect(c).toMatch(/SUBSCRIBER_TOO_SLOW$/);
  });
});
