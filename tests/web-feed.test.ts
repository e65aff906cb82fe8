/**
 * The web app's feed start (web/src/feed-position.ts): no list in the cache misses a change, also
 * when views loaded their lists before the feed knew its cursor (the 3 s fallback) or a list's
 * response arrived after the feed had applied later changes. Unit cases, then the same decisions
 * with real cursors from a real server, subscribed to over graphql-ws.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareCursors, FeedStart } from '../web/src/feed-position.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { CHANGES, type Change, subscribeWs, tokenFor, waitFor, wsClient } from './helpers/feed.ts';

const E = '11111111-2222-4333-8444-555555555555';
const at = (xid: number, id: number, stamp = true) => `${E}:${xid}:${id}${stamp ? ':1764000000000' : ''}`;

describe('web feed start (unit)', () => {
  it('compares cursors by position within one epoch only', () => {
    expect(compareCursors(at(10, 5), at(10, 6))).toBeLessThan(0);
    expect(compareCursors(at(11, 1), at(10, 6))).toBeGreaterThan(0);
    expect(compareCursors(at(10, 6), at(10, 6, false))).toBe(0);
    expect(compareCursors(at(10, 6), `22222222-2222-4333-8444-555555555555:9:1`)).toBeNull();
    expect(compareCursors('garbage', at(1, 1))).toBeNull();
  });

  it('starts from the oldest list loaded before the feed knew its cursor', () => {
    const s = new FeedStart();
    expect(s.list(at(20, 3))).toBeNull();
    expect(s.list(at(18, 9))).toBeNull();
    expect(s.list(at(25, 1))).toBeNull();
    expect(s.start(at(30, 4))).toBe(at(18, 9));
    // Without older lists the feed starts where it was asked to.
    const t = new FeedStart();
    expect(t.list(at(40, 1))).toBeNull();
    expect(t.start(at(30, 4))).toBe(at(30, 4));
  });

  it('restarts from a list that arrives older than the changes already applied, not otherwise', () => {
    const s = new FeedStart();
    s.start(at(10, 1));
    s.applied(at(12, 7));
    expect(s.list(at(12, 7))).toBeNull();
    expect(s.list(at(13, 0))).toBeNull();
    expect(s.list(at(11, 2))).toBe(at(11, 2));
    expect(s.position).toBe(at(11, 2));
    // A list of another history is not compared: the feed's own cursor expiry handles it.
    expect(s.list(`22222222-2222-4333-8444-555555555555:1:1`)).toBeNull();
    s.reset();
    expect(s.position).toBeNull();
  });
});

describe('web feed start (real cursors)', () => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await startTestApp({ seed: true });
    await t.app.services.feed.ready();
    token = await tokenFor(t.db.pool, 'admin@example.com');
  });
  afterAll(async () => {
    await t?.stop();
  });

  const listCursor = async () => {
    const r = await t.gql(
      '{ stockLevels(first: 200) { feedCursor edges { node { id version } } } }',
      {},
      token,
    );
    return r.data?.stockLevels.feedCursor as string;
  };
  const change = async (n: number) => {
    const { rows } = await t.db.pool.query<{ id: string }>(
      'UPDATE stock_levels SET reorder_level = reorder_level + 1 WHERE id = (SELECT id FROM stock_levels ORDER BY id OFFSET $1 LIMIT 1) RETURNING id',
      [n],
    );
    return rows[0]?.id as string;
  };
  /** The position of a row's latest change, as a cursor of the epoch of `like`. */
  const positionOf = async (rowId: string, like: string) => {
    const { rows } = await t.db.pool.query<{ xid: string; id: string }>(
      'SELECT xid::text, id::text FROM change_log WHERE row_id = $1 ORDER BY xid DESC, id DESC LIMIT 1',
      [rowId],
    );
    return `${like.split(':')[0]}:${rows[0]?.xid}:${rows[0]?.id}`;
  };
  /** The stock-level changes a subscription from `cursor` delivers (within a second of the last). */
  const from = async (cursor: string) => {
    const client = wsClient(t.wsUrl, token);
    const s = subscribeWs<Change>(client, CHANGES, { after: cursor, tables: ['stock_levels'] }, 'changes');
    await new Promise((r) => setTimeout(r, 1000));
    s.stop();
    await client.dispose();
    expect(s.errors).toEqual([]);
    return s.events.map((e) => e.rowId);
  };

  it('a list loaded before the feed knew its cursor: the change in between still arrives', async () => {
    const start = new FeedStart();
    // The views' list (fallback after 3 s), then a change, then the feed's own cursor query.
    expect(start.list(await listCursor())).toBeNull();
    const between = await change(1);
    // The feed's query comes once the change is final (another test database may hold it back).
    let feedOwn = '';
    await waitFor(async () => {
      feedOwn = await listCursor();
      return (compareCursors(feedOwn, await positionOf(between, feedOwn)) ?? -1) >= 0;
    });
    // Starting where the feed's own query said would miss the change the list does not show...
    expect(await from(feedOwn)).not.toContain(between);
    // ...the start it is given instead delivers it.
    expect(await from(start.start(feedOwn))).toContain(between);
  });

  it('a list response older than the changes already applied moves the feed back to it', async () => {
    const start = new FeedStart();
    start.start(await listCursor());
    const snapshot = await listCursor(); // the list's snapshot, taken first...
    const later = await change(2); // ...a change the list does not show...
    const client = wsClient(t.wsUrl, token);
    const live = subscribeWs<Change>(
      client,
      CHANGES,
      { after: snapshot, tables: ['stock_levels'] },
      'changes',
    );
    await waitFor(() => live.events.some((e) => e.rowId === later), 5000, 'the change');
    start.applied((live.events.find((e) => e.rowId === later) as Change).cursor); // ...applied first,
    live.stop();
    await client.dispose();
    // ...then the list response arrives and overwrites the row with its older version.
    const restartAt = start.list(snapshot);
    expect(restartAt).toBe(snapshot);
    expect(await from(restartAt as string)).toContain(later);
  });
});
