/**
 * A chaos workload for the change feed: concurrent writers (fast, held-open and rolled-back
 * transactions, straight SQL as from psql), a killer that terminates the listener's backend every
 * few hundred ms, subscribers that disconnect at random and resume from their last cursor (over
 * graphql-ws or SSE, on whichever server `url()` names at that moment), and a naive bigserial
 * reader (`id > last`) for comparison. Returns what everyone saw and what was committed.
 */
import pg from 'pg';
import { type Change, subscribeSse, subscribeWs, waitFor, wsClient } from './feed.ts';

export const FEED_MIN = `subscription Feed($after: String) {
  changes(after: $after, tables: ["customers", "stock_levels"]) { cursor table rowId data }
}`;

export interface SubscriberSpec {
  transport: 'ws' | 'sse';
  /** The server's base URL (http://host:port) to use for the next session. */
  url: () => string;
}

export interface ChaosOptions {
  databaseUrl: string;
  token: string;
  startCursor: string;
  writers: number;
  targetChanges: number;
  subscribers: SubscriberSpec[];
  /** Writer 0 also writes through the API (receiveStock) on this server. */
  apiUrl?: () => string;
  /** Also run the naive `id > last` reader. */
  naive?: boolean;
  killListenerEveryMs?: [number, number];
  /** Called once when about half of the target is committed (restart the database, a server...). */
  midRun?: () => Promise<void>;
  /** How long subscribers may take to catch up after the last write (default 30 s). */
  timeoutMs?: number;
}

export interface ChaosResult {
  committed: string[];
  subscribers: { positions: string[]; rolledBackSeen: number; sessions: number }[];
  naiveMissed: number;
  /** Changes whose transactions reported success. */
  writerChanges: number;
  /** Changes whose transactions may or may not have committed (errors, timeouts). */
  uncertain: number;
  apiWrites: number;
  rolledBack: number;
  kills: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rand = (a: number, b: number) => a + Math.floor(Math.random() * (b - a + 1));

function positionOf(cursor: string): string {
  const [, xid, id] = cursor.split(':');
  return `${xid}:${id}`;
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosResult> {
  const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.writers + 3 });
  pool.on('error', () => {});
  const stock = (
    await pool.query<{ id: string; branch_id: string; product_id: string }>(
      'SELECT id, branch_id, product_id FROM stock_levels ORDER BY id',
    )
  ).rows;
  const stockIds = stock.map((r) => r.id);
  let apiWrites = 0;
  let uncertain = 0;
  const viaApi = async (row: { branch_id: string; product_id: string }): Promise<boolean> => {
    const res = await fetch(`${opts.apiUrl?.()}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.token}` },
      body: JSON.stringify({
        query: `mutation ($b: ID!, $p: ID!) { receiveStock(branchId: $b, productId: $p, quantity: 1) {
          __typename ... on MutationReceiveStockSuccess { data { id } } } }`,
        variables: { b: row.branch_id, p: row.product_id },
      }),
    });
    const body = (await res.json()) as { data?: { receiveStock?: { __typename: string } } };
    return body.data?.receiveStock?.__typename === 'MutationReceiveStockSuccess';
  };
  let committedChanges = 0;
  let rolledBack = 0;
  let writersDone = false;
  let midRunStarted = false;
  let midRunDone: Promise<void> = Promise.resolve();
  let kills = 0;

  const guarded = new WeakSet<pg.PoolClient>();
  const writer = async (w: number) => {
    const mine = stockIds.filter((_, i) => i % opts.writers === w);
    let n = 0;
    while (committedChanges < opts.targetChanges) {
      n++;
      if (!midRunStarted && opts.midRun && committedChanges >= opts.targetChanges / 2) {
        midRunStarted = true;
        midRunDone = opts.midRun();
      }
      const r = Math.random();
      const k = rand(4, 16);
      if (opts.apiUrl && w === 0 && r < 0.5) {
        // Through the API: one stock level changes (its movement is in another table).
        const row = stock[stockIds.indexOf(mine[rand(0, mine.length - 1)] as string)];
        if (row && (await viaApi(row).catch(() => false))) {
          committedChanges += 1;
          apiWrites++;
        } else {
          // Failed as far as we can tell, but it may have committed (a timeout after COMMIT).
          uncertain += 1;
        }
        continue;
      }
      let client: pg.PoolClient | undefined;
      try {
        client = await pool.connect();
        // Checked out, a client has no error listener of the pool's (a restart would crash us).
        if (!guarded.has(client)) {
          guarded.add(client);
          client.on('error', () => {});
        }
        await client.query('BEGIN');
        if (r < 0.1) {
          await client.query(
            "INSERT INTO customers (name) SELECT 'ROLLBACK-' || $1 || '-' || g FROM generate_series(1, $2) g",
            [`${w}-${n}`, k],
          );
          await client.query('SELECT pg_sleep($1)', [Math.random() * 0.05]);
          await client.query('ROLLBACK');
          rolledBack += k;
        } else if (r < 0.3) {
          const ids = [...mine]
            .sort(() => Math.random() - 0.5)
            .slice(0, k)
            .sort();
          await client.query(
            'UPDATE stock_levels SET reorder_level = reorder_level + 1 WHERE id = ANY($1::uuid[])',
            [ids],
          );
          if (r < 0.2) await client.query('SELECT pg_sleep($1)', [0.05 + Math.random() * 0.25]);
          await client.query('COMMIT');
          committedChanges += ids.length;
        } else {
          await client.query(
            "INSERT INTO customers (name) SELECT 'chaos-' || $1 || '-' || g FROM generate_series(1, $2) g",
            [`${w}-${n}`, k],
          );
          // Some transactions stay open after taking their ids, as slow clients do.
          if (r < 0.45) await client.query('SELECT pg_sleep($1)', [0.05 + Math.random() * 0.25]);
          await client.query('COMMIT');
          committedChanges += k;
        }
        client.release();
      } catch {
        // The database restarted under us: the outcome of this transaction is unknown (the
        // expected set is read from the log afterwards); go on with a fresh connection.
        uncertain += k;
        client?.release(true);
        await sleep(50);
      }
    }
  };

  const killer = async () => {
    const [lo, hi] = opts.killListenerEveryMs ?? [200, 400];
    while (!writersDone) {
      await sleep(rand(lo, hi));
      try {
        const { rows } = await pool.query(
          `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
            WHERE application_name = 'branchline-listener' AND datname = current_database()`,
        );
        kills += rows.filter((r) => r.killed).length;
      } catch {
        // database restarting
      }
    }
  };

  const naiveSeen = new Set<string>();
  const naiveReader = async () => {
    let last = '0';
    const start = opts.startCursor.split(':')[2] as string;
    const startId = BigInt(start);
    let lastPass = false;
    for (;;) {
      try {
        const { rows } = await pool.query<{ id: string }>(
          'SELECT id::text AS id FROM change_log WHERE id > $1::bigint ORDER BY id LIMIT 5000',
          [last],
        );
        for (const r of rows) {
          if (BigInt(r.id) > startId || startId === 0n) naiveSeen.add(r.id);
          last = r.id;
        }
      } catch {
        // database restarting
      }
      if (lastPass) return;
      if (writersDone) lastPass = true;
      await sleep(3);
    }
  };

  let stopSubscribers = false;
  let expectedCount = Number.POSITIVE_INFINITY;
  const subscriber = async (spec: SubscriberSpec) => {
    const got: Change[] = [];
    let last = opts.startCursor;
    let sessions = 0;
    while (!stopSubscribers) {
      sessions++;
      const base = spec.url();
      const graphqlUrl = `${base}/graphql`;
      const client = spec.transport === 'ws' ? wsClient(graphqlUrl.replace(/^http/, 'ws'), opts.token) : null;
      const c = client
        ? subscribeWs<Change>(client, FEED_MIN, { after: last }, 'changes')
        : subscribeSse<Change>(graphqlUrl, opts.token, FEED_MIN, { after: last }, 'changes');
      // While writers write, drop the connection at random; afterwards stay until caught up.
      const until = writersDone ? Number.POSITIVE_INFINITY : Date.now() + rand(150, 700);
      while (!stopSubscribers && Date.now() < until && got.length + c.events.length < expectedCount) {
        const ended = await Promise.race([c.ended.then(() => true), sleep(10).then(() => false)]);
        if (ended) break;
      }
      // A full copy: from now on, more events may still arrive on the closing session.
      const events = c.events.slice();
      c.stop();
      if (client) await Promise.resolve(client.dispose()).catch(() => {});
      got.push(...events);
      const tail = events[events.length - 1];
      if (tail) last = tail.cursor;
      if (c.errors.length > 0 || events.length === 0) await sleep(50);
      if (got.length >= expectedCount) break;
    }
    return {
      positions: got.map((e) => positionOf(e.cursor)),
      rolledBackSeen: got.filter((e) => String(e.data?.name ?? '').startsWith('ROLLBACK-')).length,
      sessions,
    };
  };

  const subs = opts.subscribers.map((s) => subscriber(s));
  const naive = opts.naive ? naiveReader() : Promise.resolve();
  const kill = killer();
  await Promise.all(Array.from({ length: opts.writers }, (_, w) => writer(w)));
  await midRunDone;
  writersDone = true;
  await Promise.all([kill, naive]);

  const [, sx, si] = opts.startCursor.split(':');
  const committed = (
    await pool.query<{ p: string }>(
      `SELECT xid::text || ':' || id::text AS p FROM change_log
        WHERE (xid, id) > ($1::xid8, $2::bigint) AND tbl IN ('customers', 'stock_levels')
        ORDER BY xid, id`,
      [sx, si],
    )
  ).rows.map((r) => r.p);
  expectedCount = committed.length;
  // Subscribers get this long after the last write to catch up (a loaded machine is slow).
  const stopAt = setTimeout(() => {
    stopSubscribers = true;
  }, opts.timeoutMs ?? 30_000);
  const results = await Promise.all(subs);
  clearTimeout(stopAt);
  stopSubscribers = true;
  await waitFor(() => true);
  const committedIds = committed.map((p) => p.split(':')[1] as string);
  const naiveMissed = committedIds.filter((id) => !naiveSeen.has(id)).length;
  await pool.end();
  return {
    committed,
    subscribers: results,
    naiveMissed,
    writerChanges: committedChanges,
    uncertain,
    apiWrites,
    rolledBack,
    kills,
  };
}

/** A short account of how a subscriber's positions differ from the committed ones. */
export function compare(expected: string[], got: string[]) {
  const want = new Set(expected);
  const seen = new Set<string>();
  let duplicates = 0;
  let unexpected = 0;
  for (const p of got) {
    if (seen.has(p)) duplicates++;
    seen.add(p);
    if (!want.has(p)) unexpected++;
  }
  const missing = expected.filter((p) => !seen.has(p)).length;
  let firstDifference = -1;
  for (let i = 0; i < Math.max(expected.length, got.length); i++) {
    if (expected[i] !== got[i]) {
      firstDifference = i;
      break;
    }
  }
  return { expected: expected.length, got: got.length, missing, duplicates, unexpected, firstDifference };
}
