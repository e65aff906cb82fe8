/**
 * The change feed of one server process: the guarded wake-up, the one change-log reader, the hub,
 * the pruning job, the shared dashboards, and the factory for subscription streams. Started and
 * stopped with the app.
 *
 * Guarantees: see wakeup.ts, reader.ts, hub.ts, stream.ts, fanout.ts and prune.ts. In short: one
 * global order `(xid, id)`, every committed change after a cursor delivered exactly once, a
 * transaction's changes together and only after commit, whatever happens to the listener
 * connection or the database in between.
 */

import type { GraphQLError } from 'graphql';
import pg from 'pg';
import type { Viewer } from '../auth/viewer.ts';
import type { Logger } from '../logger.ts';
import type { ComponentHealth } from '../resolvers/health.ts';
import { Quota } from '../shares.ts';
import { accessScope, concernsBranch, FEED_TABLES } from './access.ts';
import { CatchUpPool } from './catchup.ts';
import {
  CursorError,
  decodeCursor,
  encodeCursor,
  type FeedPosition,
  parseCursorText,
  positionProblem,
  stampOf,
} from './cursor.ts';
import { type DashboardStream, Dashboards } from './dashboard.ts';
import { type Grant, Grants } from './grants.ts';
import { graphql } from './graphql.ts';
import { Hub } from './hub.ts';
import { pruneChangeLog } from './prune.ts';
import { ChangeReader, type ChangeRow } from './reader.ts';
import { FeedStream, feedError } from './stream.ts';
import { isTransient } from './transient.ts';
import { FEED_CHANNEL, Wakeup } from './wakeup.ts';

export interface FeedOptions {
  databaseUrl: string;
  pool: pg.Pool;
  log: Logger;
  /** Safety timer of the reader (1-5 s). */
  pollMs: number;
  heartbeatMs: number;
  /** Live changes a subscriber may have queued before it ends with SUBSCRIBER_TOO_SLOW. */
  maxQueue: number;
  /** Bytes a grouped WebSocket subscriber may have unsent before it ends with SUBSCRIBER_TOO_SLOW. */
  maxBufferedBytes: number;
  retentionMs: number;
  pruneEveryMs: number;
  /** Connections of the catch-up reads' own pool (catchup.ts). */
  catchUpPoolSize: number;
  /** Open subscriptions of one user, graphql-ws and SSE together; more get TOO_MANY_SUBSCRIPTIONS. */
  maxSubscriptionsPerUser: number;
}

export interface ChangesArgs {
  after?: string | null;
  tables?: readonly string[] | null;
  branchId?: string | number | null;
}

/** What the feed needs of a GraphQL context; `feedGroup` marks a group's shared execution. */
export interface FeedContext {
  viewer: Viewer | null;
  feedGroup?: boolean;
}

const TABLES = new Set<string>(FEED_TABLES);

/** How long a subscription with a cursor of a new history waits for this process's reader to see it. */
const NEW_HISTORY_WAIT_MS = 5000;

const forbiddenBranch = () => feedError('FORBIDDEN', 'You may not watch that branch');

export class Feed {
  readonly hub: Hub;
  readonly reader: ChangeReader;
  readonly wakeup: Wakeup;
  readonly dashboards: Dashboards;
  /** The rights of open subscriptions, re-decided as access changes arrive (grants.ts). */
  readonly grants: Grants;
  /** The catch-up reads' own pool: subscriptions never take the API pool's connections. */
  readonly catchUp: CatchUpPool;
  /**
   * The live reader's own connection (application_name `branchline-feed-reader`): its reads never
   * wait behind the API's queries for a pooled connection.
   */
  private readonly readerPool: pg.Pool;
  /** Whether the reader's connection is open, and since when (readiness: src/ops/ready.ts). */
  readerConnected = false;
  readerConnectedAt = 0;
  private readonly perUser: Quota;
  private readonly log: Logger;
  private pruneTimer: NodeJS.Timeout | undefined;
  private firstPrune: NodeJS.Timeout | undefined;
  /** Client subscriptions registered since start (monotonic) and open now: readiness. */
  opened = 0;
  active = 0;
  /** Subscribers that fell behind a burst and continued from the log (stream.ts, fanout.ts). */
  readonly counters = { burstCatchUps: 0 };
  private readonly waiters = new Set<() => void>();
  /** The graphql-ws grouping layer, once the app has built it (its counters are for tests). */
  fanout: { readonly size: number; readonly executions: number } | null = null;

  constructor(readonly opts: FeedOptions) {
    this.log = opts.log.child({ module: 'feed' });
    this.hub = new Hub(opts.log);
    this.grants = new Grants(opts.pool, opts.log);
    this.hub.access = this.grants;
    this.catchUp = new CatchUpPool(opts.pool, opts.catchUpPoolSize, opts.log);
    this.perUser = new Quota(opts.maxSubscriptionsPerUser);
    this.readerPool = new pg.Pool({
      ...opts.pool.options,
      max: 1,
      application_name: 'branchline-feed-reader',
    });
    this.readerPool.on('error', (err) =>
      this.log.warn({ err: err.message }, 'the idle change-log reader connection failed'),
    );
    let readerClient: pg.PoolClient | null = null;
    this.readerPool.on('connect', (client) => {
      readerClient = client;
      this.readerConnected = true;
      this.readerConnectedAt = Date.now();
      client.on('end', () => {
        // Only the current connection's end counts (a replaced one may report its end late).
        if (readerClient !== client) return;
        readerClient = null;
        this.readerConnected = false;
      });
    });
    this.reader = new ChangeReader({
      pool: this.readerPool,
      catchUp: this.catchUp,
      log: opts.log,
      pollMs: opts.pollMs,
      deliver: (rows, position) => this.hub.deliver(rows, position),
      onStart: (position) => {
        this.hub.position = position;
      },
      onPrunedAhead: (pruned) => this.hub.expireAll(pruned),
      onNewHistory: (position) => this.hub.expireAll(position),
    });
    this.dashboards = new Dashboards(this.hub, opts.pool, opts.log);
    this.wakeup = new Wakeup({
      connectionString: opts.databaseUrl,
      log: opts.log,
      heartbeatMs: opts.heartbeatMs,
      silentMs: opts.heartbeatMs * 3,
      onWake: () => this.reader.request(),
      sendHeartbeat: async (payload) => {
        await opts.pool.query('SELECT pg_notify($1, $2)', [FEED_CHANNEL, payload]);
      },
    });
  }

  start(): void {
    this.reader.start();
    this.wakeup.start();
    this.pruneTimer = setInterval(() => void this.prune(), this.opts.pruneEveryMs);
    this.pruneTimer.unref();
    this.firstPrune = setTimeout(() => void this.prune(), Math.min(60_000, this.opts.pruneEveryMs));
    this.firstPrune.unref();
  }

  async stop(): Promise<void> {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    if (this.firstPrune) clearTimeout(this.firstPrune);
    this.grants.stop();
    this.reader.stop();
    await this.wakeup.stop();
    await this.catchUp.end();
    await this.readerPool.end().catch(() => {});
  }

  /** One pruning round (skipped when another instance holds the lock). */
  async prune(retentionMs = this.opts.retentionMs) {
    try {
      return await pruneChangeLog(this.opts.pool, retentionMs, this.log);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'pruning the change log failed');
      return { ran: false, deleted: 0, horizon: null };
    }
  }

  /** The cursor of a position, or of a change (`at` gives its stamp). */
  cursorOf(position: FeedPosition & { at?: Date }): string {
    const stamp = position.at ? stampOf(position.at) : position.stamp;
    return encodeCursor({ epoch: this.reader.epoch, xid: position.xid, id: position.id, stamp });
  }

  /**
   * The `change-feed` health component. Healthy while the reader reads: without the listener the
   * feed still delivers (from the safety timer, more slowly), so a reconnecting listener is
   * reported in the detail, not as a failure. Waits up to a second for the first read.
   */
  async health(): Promise<ComponentHealth> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.reader.ready, new Promise((r) => (timer = setTimeout(r, 1000)))]);
    clearTimeout(timer);
    const w = this.wakeup.status();
    const ready = this.reader.position !== null;
    const ok = ready && this.reader.lastError === null;
    const detail = !ready
      ? `not started${this.reader.lastError ? `: ${this.reader.lastError}` : ''}`
      : `listener ${w.connected ? 'connected' : 'reconnecting'}, heard ${w.lastHeardMsAgo} ms ago, ` +
        `${this.active} subscriptions, ${w.rebuilds} rebuilds` +
        (this.reader.lastError ? `, last read failed: ${this.reader.lastError}` : '');
    return { name: 'change-feed', ok, detail };
  }

  /** Waits (bounded) until the reader knows the epoch and the live end. */
  async ready(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the change feed is not available')), 10_000);
    });
    try {
      await Promise.race([this.reader.ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Counts a client subscription as registered (from now on it receives every change) and
   * returns the function that counts it closed (and gives back its `share`, from `admit`).
   */
  track(share?: () => void): () => void {
    this.opened++;
    this.active++;
    this.signal();
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      this.active--;
      share?.();
      this.signal();
    };
  }

  /**
   * Takes one of the viewer's subscription places (graphql-ws and SSE count together), or throws
   * TOO_MANY_SUBSCRIPTIONS. The result gives the place back (pass it to `track`).
   */
  admit(viewer: Viewer): () => void {
    const release = this.perUser.take(viewer.userId);
    if (!release) throw this.tooManySubscriptions();
    return release;
  }

  /** Open subscriptions of a user (graphql-ws and SSE). */
  subscriptionsOf(userId: string): number {
    return this.perUser.count(userId);
  }

  /** The refusal of a subscription over the per-user cap. */
  tooManySubscriptions() {
    return feedError(
      'TOO_MANY_SUBSCRIPTIONS',
      `Too many subscriptions: at most ${this.perUser.max} subscriptions per user; end some before starting more`,
    );
  }

  private signal(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves once `predicate(this)` holds, re-checked whenever a subscription opens or closes. */
  waitFor(predicate: (feed: Feed) => boolean, timeoutMs = 10_000): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate(this)) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(
          new Error(
            `timed out waiting for feed subscriptions (opened ${this.opened}, active ${this.active})`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  requireViewer(viewer: Viewer | null): Viewer {
    if (!viewer) {
      throw feedError('UNAUTHENTICATED', 'Subscriptions need a valid token (connectionParams.authorization)');
    }
    return viewer;
  }

  /** Parses a cursor of this database, or throws BAD_CURSOR / CURSOR_EXPIRED as GraphQL errors. */
  async parseCursor(after: string): Promise<FeedPosition> {
    await this.ready();
    try {
      const c = parseCursorText(after);
      const position: FeedPosition = { xid: c.xid, id: c.id, stamp: c.stamp };
      // One statement: the current epoch, the pruned horizon, the read horizon and the cursor's
      // own change. A cursor from another history (restored, failed over, lost commits, from the
      // future) is refused here, never served with a gap or a silent wait.
      const check = await this.reader.checkPosition(position);
      decodeCursor(after, check.epoch);
      const problem = positionProblem(position, check);
      if (problem) throw new CursorError(problem, 'CURSOR_EXPIRED');
      if (check.epoch !== this.reader.epoch) {
        // A cursor of the database's new history (restored, failed over; another process saw it
        // first) while this process still reads the old one: let the reader notice (it ends the
        // old history's subscriptions and starts at the new live end) before this one registers,
        // rather than refusing a good cursor. Bounded; the catch-up checks its range anyway.
        this.reader.request();
        const deadline = Date.now() + NEW_HISTORY_WAIT_MS;
        while (this.reader.epoch !== check.epoch && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
          this.reader.request();
        }
        if (this.reader.epoch !== check.epoch) {
          throw new CursorError(
            'The change feed is catching up with a new database history; subscribe again',
            'CURSOR_EXPIRED',
          );
        }
      }
      return position;
    } catch (err) {
      if (err instanceof CursorError) throw feedError(err.code, err.message);
      // The database unreachable for a moment: UNAVAILABLE on SSE too (graphql-ws reports any
      // failure to start so), never a masked internal error.
      if (isTransient(err)) {
        throw new graphql.GraphQLError('The subscription could not start; try again', {
          extensions: { code: 'UNAVAILABLE' },
        });
      }
      throw err;
    }
  }

  /** The filter of a `changes`-style subscription, authorization included. */
  changeFilter(viewer: Viewer, args: ChangesArgs): (row: ChangeRow) => boolean {
    const scope = accessScope(viewer);
    const tables = args.tables ? new Set(args.tables) : null;
    for (const t of tables ?? []) {
      if (!TABLES.has(t))
        throw feedError('BAD_USER_INPUT', `Unknown table "${t}"; one of: ${FEED_TABLES.join(', ')}`);
    }
    const branchId = args.branchId === null || args.branchId === undefined ? null : String(args.branchId);
    if (branchId !== null && !scope.canSeeBranch(branchId)) throw forbiddenBranch();
    return (row) =>
      scope.canSee(row) &&
      (tables === null || tables.has(row.tbl)) &&
      (branchId === null || concernsBranch(row, branchId));
  }

  /** A stream for `changes(after, tables, branchId)` and the typed subscriptions built on it. */
  async changes(
    ctx: FeedContext,
    args: ChangesArgs,
    extra?: (row: ChangeRow) => boolean,
  ): Promise<FeedStream> {
    const viewer = this.requireViewer(ctx.viewer);
    // A group's shared stream is not a client subscription: its members are counted instead.
    const share = ctx.feedGroup ? undefined : this.admit(viewer);
    try {
      let base = this.changeFilter(viewer, args);
      const filter = extra ? (row: ChangeRow) => base(row) && extra(row) : (row: ChangeRow) => base(row);
      // An empty string is a cursor too (a malformed one: BAD_CURSOR), not "no cursor".
      const after =
        args.after !== null && args.after !== undefined ? await this.parseCursor(args.after) : null;
      await this.ready();
      if (!share) return new FeedStream(this, filter, this.opts.maxQueue * 10, after);
      // The subscriber's own stream follows its rights (a group's follows a fixed scope; its members
      // are followed in fanout.ts): held on an access change, then ended or re-scoped.
      const closeTracking = this.track(share);
      let grant: Grant | undefined;
      const stream = new FeedStream(this, filter, this.opts.maxQueue, after, () => {
        closeTracking();
        grant?.detach();
      });
      grant = this.grants.attach(viewer, {
        hold: () => stream.hold(),
        resume: (next, turn) => {
          let scoped: (row: ChangeRow) => boolean;
          try {
            scoped = this.changeFilter(next, args);
          } catch (err) {
            return err as GraphQLError;
          }
          if (turn.commit()) {
            base = scoped;
            ctx.viewer = next;
            stream.resume();
          }
          return null;
        },
        end: (err) => stream.revoke(err),
      });
      return stream;
    } catch (err) {
      share?.();
      throw err;
    }
  }

  /** The live dashboard of a branch the viewer may see. */
  async dashboard(ctx: FeedContext, branchId: string): Promise<DashboardStream> {
    const viewer = this.requireViewer(ctx.viewer);
    if (!accessScope(viewer).canSeeBranch(branchId)) throw forbiddenBranch();
    const share = ctx.feedGroup ? undefined : this.admit(viewer);
    try {
      await this.ready();
    } catch (err) {
      share?.();
      throw err;
    }
    if (!share) return this.dashboards.subscribe(branchId, () => {});
    const closeTracking = this.track(share);
    let grant: Grant | undefined;
    const stream = this.dashboards.subscribe(branchId, () => {
      closeTracking();
      grant?.detach();
    });
    grant = this.grants.attach(viewer, {
      hold: () => stream.hold(),
      resume: (next, turn) => {
        if (!accessScope(next).canSeeBranch(branchId)) return forbiddenBranch();
        if (turn.commit()) {
          ctx.viewer = next;
          stream.resume();
        }
        return null;
      },
      end: (err) => stream.fail(err),
    });
    return stream;
  }
}
