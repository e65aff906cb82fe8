/**
 * A chaos workload for the change feed, checked change by change (chaos-check.ts):
 * - writers: concurrent transactions (fast, held open, rolled back, straight SQL as from psql,
 *   some through the API), and on request a burst: one transaction larger than the reader's batch;
 * - faults: the backends of the listener, of the reader's connection and of the catch-up pool
 *   terminated (pg_terminate_backend by application_name) every few hundred ms;
 * - subscribers over graphql-ws or SSE that drop and resume from their last cursor at random, some
 *   starting (and reloading) without a cursor, some that stop reading during bursts (long enough
 *   for SUBSCRIBER_TOO_SLOW, or briefly: burst catch-up), laggards that stay away and then catch up
 *   slowly while the log is pruned under them (CURSOR_EXPIRED, then a reload);
 * - events at points of the run (prunes, crashes, restores: the caller's, through ChaosControl);
 * - a naive bigserial reader (`id > last`) for comparison.
 * Returns every history of the log, each subscriber's sessions and their check.
 */
import pg from 'pg';
import { pruneChangeLog } from '../../src/listeners/prune.ts';
import { createLogger } from '../../src/logger.ts';
import {
  checkSubscriber,
  type History,
  historyOf,
  type LogRow,
  type Session,
  type SubscriberCheck,
} from './chaos-check.ts';
import { type ChaosSession, openSse, openWs } from './chaos-clients.ts';
import { ARCHIVE_SQL } from './chaos-cluster.ts';

export { compare, exact } from './chaos-check.ts';

export const FEED_MIN = `subscription Feed($after: String) {
  changes(after: $after, tables: ["customers", "stock_levels"]) { cursor table rowId data }
}`;
const TABLES = ['customers', 'stock_levels'];

export interface SubscriberSpec {
  transport: 'ws' | 'sse';
  /** The server's base URL (http://host:port) for the next session. */
  url: () => string;
  /** How it starts, and reloads after CURSOR_EXPIRED: from a list's feedCursor or the live end. */
  start?: 'cursor' | 'live';
  /** Stops reading during bursts: long enough for SUBSCRIBER_TOO_SLOW, briefly, or each in turn. */
  pausable?: 'long' | 'short' | 'alternate';
  /** Stays away during a pruning burst, then catches up slowly while the log is pruned. */
  laggard?: boolean;
}

export type ChaosFault = 'listener' | 'reader' | 'catchup';
const APP_NAMES: Record<ChaosFault, string> = {
  listener: 'branchline-listener',
  reader: 'branchline-feed-reader',
  catchup: 'branchline-feed-catchup',
};

export interface ChaosControl {
  pool: pg.Pool;
  /** Stops the writers and waits for the transactions in flight (or their failure). */
  pauseWriters(): Promise<void>;
  resumeWriters(): void;
  /** The database's history ends here (before a restore): records its whole log (writers paused). */
  historyEnds(): Promise<void>;
  /**
   * Commits one transaction larger than the reader's batch (every subscriber falls behind it: burst
   * catch-up). With `pause`, the pausable subscribers read nothing meanwhile; with `prune`, the
   * laggards are away, come back catching up slowly, and the log is pruned under them (everything
   * from before they left, the burst included).
   */
  burst(opts?: { pause?: boolean; prune?: boolean }): Promise<void>;
  count(what: string, n?: number): void;
}

export interface ChaosEvent {
  /** When, as a fraction of the run (changes committed of the target, or time of the duration)... */
  at?: number;
  /** ...or this long after the previous event ended. */
  afterMs?: number;
  run(ctl: ChaosControl): Promise<void>;
}

export interface ChaosOptions {
  databaseUrl: string;
  token: string;
  startCursor: string;
  writers: number;
  /** The run lasts until this many changes are committed (and `durationMs`, when given, is over). */
  targetChanges: number;
  durationMs?: number;
  subscribers: SubscriberSpec[];
  /** Writer 0 also writes through the API (receiveStock) on this server. */
  apiUrl?: () => string;
  /** Also run the naive `id > last` reader. */
  naive?: boolean;
  /** Backends to terminate (default: the listener's). */
  faults?: ChaosFault[];
  killEveryMs?: [number, number];
  /** Rows of a burst transaction (default 2,500 of about 4 kB; the reader reads 1,000 at a time). */
  burstRows?: number;
  /** Each writer sleeps this long (a random time in the range, ms) between transactions. */
  writerSleepMs?: [number, number];
  events?: ChaosEvent[];
  /** Called once when about half of the target is committed (restart the database, a server...). */
  midRun?: () => Promise<void>;
  /** How long subscribers may take to catch up after the last write (default 30 s). */
  timeoutMs?: number;
}

export interface SubscriberResult {
  spec: SubscriberSpec;
  sessions: number;
  log: Session[];
  /** `xid:id` of every change received, all sessions in order. */
  positions: string[];
  rolledBackSeen: number;
  check: SubscriberCheck;
}

export interface ChaosResult {
  /** `xid:id` of the last history's changes (customers, stock levels), in log order. */
  committed: string[];
  histories: History[];
  subscribers: SubscriberResult[];
  naiveMissed: number;
  naivePositions: string[];
  /** Changes whose transactions reported success. */
  writerChanges: number;
  /** Changes whose transactions may or may not have committed (errors, timeouts). */
  uncertain: number;
  apiWrites: number;
  rolledBack: number;
  kills: number;
  /** Kills by fault, bursts, prunes, crashes, restores... */
  counts: Record<string, number>;
  elapsedMs: number;
}

const quiet = createLogger('silent');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
/** With CHAOS_TRACE set, what the run does and when (stderr). */
const trace = (what: string) => {
  if (process.env.CHAOS_TRACE)
    process.stderr.write(`[chaos +${((Date.now() - t0) / 1000).toFixed(1)}s] ${what}\n`);
};
const rand = (a: number, b: number) => a + Math.floor(Math.random() * (b - a + 1));
/** The server ends a subscriber that read nothing for this long while its buffers were full. */
const STALL_MS = 2000;
/** A long pause outlasts SUBSCRIBER_TOO_SLOW's 2 s once the buffers are full; a short one does not. */
const pauseFor = (kind: SubscriberSpec['pausable'], turn: number) =>
  kind === 'long' || (kind === 'alternate' && turn % 2 === 0) ? 6000 : 800;
const positionOf = (cursor: string) => cursor.split(':').slice(1, 3).join(':');

/** The whole log of the database's current history: change_log plus what pruning deleted. */
export async function readHistory(pool: pg.Pool, endedAt: number | null = null): Promise<History> {
  const epoch = (await pool.query<{ e: string }>('SELECT branchline_feed_epoch() AS e')).rows[0]?.e ?? null;
  const { rows } = await pool.query<LogRow>(
    `SELECT xid::text AS xid, id::text AS id, stamp, pruned, tbl = ANY($1) AS relevant FROM (
       SELECT xid, id, tbl, branchline_change_stamp(created_at)::text AS stamp, false AS pruned FROM change_log
       UNION ALL
       SELECT xid, id, tbl, branchline_change_stamp(created_at)::text, true FROM chaos_pruned
     ) l ORDER BY l.xid, l.id`,
    [TABLES],
  );
  return historyOf(rows, epoch, endedAt);
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosResult> {
  const began = Date.now();
  const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.writers + 4 });
  pool.on('error', () => {});
  await pool.query(ARCHIVE_SQL);
  const counts: Record<string, number> = {};
  const count = (what: string, n = 1) => {
    counts[what] = (counts[what] ?? 0) + n;
  };
  const stock = (
    await pool.query<{ id: string; branch_id: string; product_id: string }>(
      'SELECT id, branch_id, product_id FROM stock_levels ORDER BY id',
    )
  ).rows;
  const stockIds = stock.map((r) => r.id);
  let apiWrites = 0;
  let uncertain = 0;
  let committedChanges = 0;
  let rolledBack = 0;
  let kills = 0;
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

  // Progress, events, and the writers' gate.
  const events = [...(opts.events ?? [])];
  if (opts.midRun) events.push({ at: 0.5, run: () => (opts.midRun as () => Promise<void>)() });
  let eventsDone = events.length === 0;
  const progress = () =>
    Math.min(
      committedChanges / opts.targetChanges,
      opts.durationMs ? (Date.now() - began) / opts.durationMs : Number.POSITIVE_INFINITY,
    );
  const writing = () => !(progress() >= 1 && eventsDone);
  let gate: Promise<void> | null = null;
  let openGate: () => void = () => {};
  let inFlight = 0;
  let writersDone = false;

  const guarded = new WeakSet<pg.PoolClient>();
  const connect = async () => {
    const client = await pool.connect();
    // Checked out, a client has no error listener of the pool's (a restart would crash us).
    if (!guarded.has(client)) {
      guarded.add(client);
      client.on('error', () => {});
    }
    return client;
  };
  const bigTransaction = async (rows: number, tag: string) => {
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        await pool.query(
          "INSERT INTO customers (name, notes) SELECT 'burst-' || $1 || '-' || g, repeat(md5(g::text), 120) FROM generate_series(1, $2) g",
          [tag, rows],
        );
        committedChanges += rows;
        count('bursts');
        return;
      } catch {
        uncertain += rows;
        await sleep(100);
      }
    }
  };

  const writer = async (w: number) => {
    const mine = stockIds.filter((_, i) => i % opts.writers === w);
    let n = 0;
    while (writing()) {
      if (opts.writerSleepMs) await sleep(rand(...opts.writerSleepMs));
      // Checked right before counting itself in flight (no await between): pauseWriters() then
      // knows every transaction that may still commit.
      if (gate) {
        await gate;
        continue;
      }
      n++;
      const r = Math.random();
      const k = rand(4, 16);
      inFlight++;
      try {
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
          client = await connect();
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
          // expected log is read from the database afterwards); go on with a fresh connection.
          uncertain += k;
          client?.release(true);
          await sleep(50);
        }
      } finally {
        inFlight--;
      }
    }
  };

  const killer = async () => {
    const faults = opts.faults ?? ['listener'];
    const [lo, hi] = opts.killEveryMs ?? [200, 400];
    for (let tick = 0; !writersDone; tick++) {
      await sleep(rand(lo, hi));
      const fault = faults[tick % faults.length] as ChaosFault;
      try {
        const { rows } = await pool.query(
          `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
            WHERE application_name = $1 AND datname = current_database()`,
          [APP_NAMES[fault]],
        );
        const n = rows.filter((r) => r.killed).length;
        kills += n;
        count(`killed ${fault}`, n);
      } catch {
        // database restarting
      }
    }
  };

  const naiveSeen: string[] = [];
  const naiveReader = async () => {
    let last = '0';
    const start = opts.startCursor.split(':')[2] as string;
    const startId = BigInt(start);
    let lastPass = false;
    for (;;) {
      try {
        const { rows } = await pool.query<{ xid: string; id: string }>(
          `SELECT xid::text AS xid, id::text AS id FROM change_log
            WHERE id > $1::bigint AND tbl = ANY($2) ORDER BY id LIMIT 5000`,
          [last, TABLES],
        );
        for (const r of rows) {
          if (BigInt(r.id) > startId || startId === 0n) naiveSeen.push(`${r.xid}:${r.id}`);
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

  // Subscribers.
  let stopSubscribers = false;
  let final: History | null = null;
  /** A cursor of the last history at or after its last change: nothing more will come. */
  const atEnd = (cursor: string): boolean => {
    const end = final?.lastRelevant;
    if (!final || !end || cursor.split(':')[0] !== final.epoch) return false;
    const [x, i] = end.split(':').map(BigInt) as [bigint, bigint];
    const [, cx, ci] = cursor.split(':');
    const [px, pi] = [BigInt(cx as string), BigInt(ci as string)];
    return px > x || (px === x && pi >= i);
  };
  const freshCursor = async (base: string): Promise<string> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await fetch(`${base}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.token}` },
          body: JSON.stringify({ query: '{ branches { feedCursor } }' }),
        });
        const body = (await res.json()) as { data?: { branches?: { feedCursor?: string } } };
        const cursor = body.data?.branches?.feedCursor;
        if (cursor) return cursor;
      } catch {
        // server or database down for a moment
      }
      if (attempt > 300) throw new Error('no feedCursor for a reload');
      await sleep(100);
    }
  };
  interface State {
    spec: SubscriberSpec;
    sessions: Session[];
    current: ChaosSession | null;
    paused: boolean;
    slow: boolean;
    away: boolean;
    rolledBackSeen: number;
  }
  const states: State[] = opts.subscribers.map((spec) => ({
    spec,
    sessions: [],
    current: null,
    paused: false,
    slow: false,
    away: false,
    rolledBackSeen: 0,
  }));
  const subscriber = async (st: State) => {
    const { spec } = st;
    let last: string = opts.startCursor;
    let reload: 'cursor' | 'live' | null = spec.start === 'live' ? 'live' : null;
    while (!stopSubscribers) {
      if (st.away) {
        await sleep(10);
        continue;
      }
      // Caught up with the end of the run already (the last session ended right there), or to
      // start again from the live end when nothing more will be written.
      if (reload === null && atEnd(last)) break;
      if (writersDone && reload === 'live') break;
      const base = spec.url();
      let start: string | null = last;
      try {
        if (reload === 'live') {
          start = null;
        } else if (reload === 'cursor') {
          start = await freshCursor(base);
        }
      } catch {
        continue;
      }
      reload = null;
      const url = `${base}/graphql`;
      const vars = start === null ? {} : { after: start };
      const c =
        spec.transport === 'ws'
          ? openWs(url, opts.token, FEED_MIN, vars)
          : openSse(url, opts.token, FEED_MIN, vars);
      st.current = c;
      if (st.paused || st.slow) c.pause();
      // While writers write, drop the connection at random (never while paused, and not before it
      // has read what arrived meanwhile); afterwards stay until caught up.
      let until = writersDone ? Number.POSITIVE_INFINITY : Date.now() + rand(150, 700);
      let caughtUp = false;
      while (!stopSubscribers && !c.isEnded() && !st.away) {
        if (st.paused || st.slow) until = Math.max(until, Date.now() + rand(300, 600));
        if (Date.now() >= until) break;
        const tail = c.events[c.events.length - 1]?.cursor ?? start;
        if (tail !== null && atEnd(tail)) {
          caughtUp = true;
          break;
        }
        await sleep(10);
      }
      // A copy taken at once: more events (or an error) may still arrive on the closing session.
      const events = c.events.slice();
      const errors = c.errors.slice();
      st.current = null;
      await c.stop();
      const end = errors[0] ?? null;
      st.sessions.push({ start, items: events.map((e) => e.cursor), end, endedAt: Date.now() });
      st.rolledBackSeen += events.filter((e) => String(e.data?.name ?? '').startsWith('ROLLBACK-')).length;
      if (end !== null) count(`ended ${end}`);
      const tail = events[events.length - 1];
      if (tail) last = tail.cursor;
      else if (start !== null) last = start;
      if (end === 'CURSOR_EXPIRED') reload = spec.start === 'live' ? 'live' : 'cursor';
      if (caughtUp) break;
      if (end !== null || events.length === 0) await sleep(50);
    }
  };

  const pausable = () => states.filter((s) => s.spec.pausable);
  const histories: History[] = [];
  let bursts = 0;
  const ctl: ChaosControl = {
    pool,
    async pauseWriters() {
      gate ??= new Promise<void>((r) => {
        openGate = r;
      });
      while (inFlight > 0) await sleep(10);
    },
    resumeWriters() {
      gate = null;
      openGate();
    },
    async historyEnds() {
      histories.push(await readHistory(pool, Date.now()));
      count('histories');
    },
    async burst({ pause = false, prune = false } = {}) {
      const n = bursts++;
      // Pausable subscribers read nothing for a while: long (more than 2 s once the buffers are
      // full: burst catch-up, then SUBSCRIBER_TOO_SLOW and a resume from the last cursor) or short
      // (burst catch-up only).
      const pauses = pause ? pausable().map((s, i) => ({ s, ms: pauseFor(s.spec.pausable, i + n) })) : [];
      for (const p of pauses) {
        p.s.paused = true;
        p.s.current?.pause();
      }
      const resumed = Promise.all(
        pauses.map(async (p) => {
          await sleep(p.ms);
          p.s.paused = false;
          p.s.current?.resume();
        }),
      );
      const laggards = prune ? states.filter((s) => s.spec.laggard) : [];
      const left = Date.now();
      for (const s of laggards) s.away = true;
      await sleep(100);
      // About 10 MB: more than a socket's and an SSE response's buffers hold, so a paused
      // subscriber stalls the server's writes (SUBSCRIBER_TOO_SLOW) and a laggard's catch-up goes
      // at the pace it reads (pruning can overtake it).
      await bigTransaction(opts.burstRows ?? 2500, `b${n}`);
      if (pauses.some((p) => p.ms > STALL_MS)) {
        // More while they are paused: an SSE response's buffers can hold most of one burst.
        await sleep(1500);
        await bigTransaction(Math.round((opts.burstRows ?? 2500) * 0.6), `b${n}+`);
      }
      if (laggards.length > 0) {
        await sleep(600);
        // Back, catching up slowly (reading 50 ms in every 300, never 2 s without reading) while
        // the log is pruned under them.
        const back = laggards.map((s) => ({ s, sessions: s.sessions.length }));
        for (const s of laggards) {
          s.slow = true;
          s.away = false;
        }
        const slowReading = (async () => {
          while (laggards.some((s) => s.slow)) {
            for (const s of laggards) s.current?.pause();
            await sleep(250);
            for (const s of laggards) s.current?.resume();
            await sleep(50);
          }
        })();
        const deadline = Date.now() + 3000;
        while (
          Date.now() < deadline &&
          back.some((b) => (b.s.current?.events.length ?? 0) < 20 && b.s.sessions.length === b.sessions)
        ) {
          await sleep(20);
        }
        // Everything committed before the laggards left (and the burst) goes: they still need it.
        const pruned = await pruneChangeLog(pool, Date.now() - left - 300, quiet).catch(() => null);
        count('prunes');
        count('pruned rows', pruned?.deleted ?? 0);
        await sleep(1500);
        for (const s of laggards) {
          s.slow = false;
          s.current?.resume();
        }
        await slowReading;
      }
      await resumed;
    },
    count,
  };

  const subs = states.map((st) => subscriber(st));
  const naive = opts.naive ? naiveReader() : Promise.resolve();
  const kill = killer();
  const eventsRun = (async () => {
    try {
      for (const [i, e] of events.entries()) {
        if (e.afterMs !== undefined) await sleep(e.afterMs);
        while (progress() < (e.at ?? 0)) await sleep(20);
        trace(`event ${i}: ${committedChanges} changes`);
        await e.run(ctl);
        trace(`event ${i} done`);
      }
    } finally {
      ctl.resumeWriters();
      eventsDone = true;
    }
  })();
  await Promise.all([...Array.from({ length: opts.writers }, (_, w) => writer(w)), eventsRun]);
  writersDone = true;
  trace(`writers done: ${committedChanges} changes`);
  await Promise.all([kill, naive]);

  const last = await readHistory(pool);
  final = last;
  histories.push(last);
  // Subscribers get this long after the last write to catch up (a loaded machine is slow).
  const stopAt = setTimeout(() => {
    stopSubscribers = true;
  }, opts.timeoutMs ?? 30_000);
  await Promise.all(subs);
  trace(`subscribers done: ${JSON.stringify(counts)}`);
  clearTimeout(stopAt);
  stopSubscribers = true;
  // The changes after the start cursor (for the callers that compare positions themselves).
  const [, sx, si] = opts.startCursor.split(':');
  const startAt = { x: BigInt(sx as string), i: BigInt(si as string) };
  const committed = last.keys
    .filter((_, k) => {
      const p = last.positions[k] as { x: bigint; i: bigint };
      return last.relevant[k] && (p.x > startAt.x || (p.x === startAt.x && p.i > startAt.i));
    })
    .map((k) => k.split(':').slice(0, 2).join(':'));
  const naiveSet = new Set(naiveSeen);
  const naiveMissed = committed.filter((p) => !naiveSet.has(p)).length;
  await pool.end();
  return {
    committed,
    histories,
    subscribers: states.map((st) => {
      const items = st.sessions.flatMap((s) => s.items);
      return {
        spec: st.spec,
        sessions: st.sessions.length,
        log: st.sessions,
        positions: items.map(positionOf),
        rolledBackSeen: st.rolledBackSeen,
        check: checkSubscriber(histories, st.sessions),
      };
    }),
    naiveMissed,
    naivePositions: naiveSeen,
    writerChanges: committedChanges,
    uncertain,
    apiWrites,
    rolledBack,
    kills,
    counts,
    elapsedMs: Date.now() - began,
  };
}
