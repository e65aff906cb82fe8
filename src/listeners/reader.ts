/**
 * The change-log reader: the one place that reads `change_log` for live delivery, once per
 * server process, and the catch-up reads that subscriptions make from a cursor.
 *
 * Guarantees:
 * - Gap-free: rows are read `WHERE (xid, id) > position AND xid < pg_snapshot_xmin(...)` in
 *   `(xid, id)` order. Every transaction below that horizon has finished, so no row can ever
 *   appear behind the position afterwards; rolled-back rows never become visible.
 * - Exactly once, in order: one read runs at a time (a request during a read causes one more read
 *   after it), and each row goes to the hub once, in `(xid, id)` order.
 * - Prompt: a read runs on every wake-up (notification, listener (re)connect), on a safety timer,
 *   and again after a short, growing delay while committed rows are held back behind an older
 *   open transaction.
 * - Survives outages: a failed read is logged and retried; the position is only advanced by rows
 *   actually handed to the hub.
 * - Pruning is noticed: every read (live and catch-up) sees the pruned horizon in the same
 *   statement snapshot as its rows, so a cursor behind it is reported, never silently skipped.
 * - One history: every live read checks, in the same snapshot as its rows, that the database is
 *   still the history this process read (same epoch; its position not ahead of the read horizon;
 *   the change at its position still there with the same stamp). When not (a data folder put
 *   back, a PITR, a failover, a crash that lost asynchronous commits), it rotates the epoch (only
 *   when the log went back: a new timeline or system identifier changes it by itself), starts
 *   again at the new live end and reports it: every subscription ends with CURSOR_EXPIRED. The
 *   position never goes backwards within one epoch. Catch-up pages check the epoch too, and that
 *   the position they catch up to is still of this history (a restore the reader has not seen yet).
 * - Catch-up reads and the cursor check of a starting subscription run on the feed's own small
 *   pool (catchup.ts), never on the API's pool.
 */
import type pg from 'pg';
import type { Logger } from '../logger.ts';
import type { CatchUpPool } from './catchup.ts';
import {
  CHECK_POSITION_SQL,
  CursorError,
  comparePositions,
  type FeedPosition,
  type PositionCheck,
  SNAPSHOT_POSITION_SQL,
  stampOf,
} from './cursor.ts';

export interface ChangeRow extends FeedPosition {
  tbl: string;
  op: 'I' | 'U' | 'D';
  rowId: string;
  version: number | null;
  data: Record<string, unknown> | null;
  changed: string[] | null;
  actor: string | null;
  branchId: string | null;
  at: Date;
}

export interface ReaderOptions {
  /** Live reads (one at a time): the feed gives the reader a connection of its own. */
  pool: pg.Pool;
  /** Catch-up reads (`range`) run here, never on `pool` (the API's). */
  catchUp: CatchUpPool;
  log: Logger;
  /** Safety timer: read at least this often even without notifications. */
  pollMs: number;
  batchSize?: number;
  /** Receives the live end the reader starts from, before any batch. */
  onStart: (position: FeedPosition) => void;
  /** Receives each batch in order; must not throw. */
  deliver: (rows: ChangeRow[], position: FeedPosition) => void;
  /** The process fell behind the pruned horizon (rows it never delivered were deleted). */
  onPrunedAhead: (pruned: FeedPosition) => void;
  /**
   * The database is not the history this process read (restored, failed over, commits lost) or
   * its epoch changed: the reader starts again at `position`, the new history's live end.
   */
  onNewHistory: (position: FeedPosition) => void;
}

interface RawRow {
  held: boolean;
  pruned_xid: string | null;
  pruned_id: string | null;
  /** The database's feed epoch (branchline_feed_epoch()). */
  epoch: string | null;
  /** Live reads: the position is not ahead of the read horizon. */
  reached?: boolean;
  /** Live reads: the change at the position exists with its stamp (true without a stamp). */
  found?: boolean;
  xid: string | null;
  id: string | null;
  tbl: string;
  op: 'I' | 'U' | 'D';
  row_id: string;
  version: number | null;
  data: Record<string, unknown> | null;
  changed: string[] | null;
  actor: string | null;
  branch_id: string | null;
  created_at: Date;
}

/**
 * The per-read checks (held back, pruned horizon, epoch, position) are a MATERIALIZED CTE: taken
 * once per statement, in its snapshot. As a plain subquery the planner pulled them up into the
 * join and evaluated them for every row returned: the epoch (which reads pg_control) and the
 * probes cost about 60 µs a row, 30 ms of a 500-row catch-up page against 1 ms now.
 */
const COLUMNS =
  'c.xid::text AS xid, c.id::text AS id, c.tbl, c.op, c.row_id, c.version, c.data, c.changed, c.actor, c.branch_id, c.created_at';

/**
 * Live read: rows after the position below the horizon, plus "held back", the pruned horizon, the
 * epoch and whether the position is still in this history ($4: the position's stamp or null).
 */
const LIVE_SQL = `
WITH s AS MATERIALIZED (
  SELECT EXISTS (SELECT 1 FROM change_log h WHERE h.xid >= pg_snapshot_xmin(pg_current_snapshot())) AS held,
         f.pruned_xid, f.pruned_id::text AS pruned_id, branchline_feed_epoch() AS epoch,
         ($1::xid8, $2::bigint) <= (pg_snapshot_xmin(pg_current_snapshot()), 0::bigint) AS reached,
         ($4::bigint IS NULL OR EXISTS (
            SELECT 1 FROM change_log a WHERE a.xid = $1::xid8 AND a.id = $2::bigint
               AND branchline_change_stamp(a.created_at) = $4::bigint)) AS found
    FROM feed_state f WHERE f.id = 1)
SELECT s.held, s.pruned_xid, s.pruned_id, s.epoch, s.reached, s.found, ${COLUMNS}
  FROM s LEFT JOIN LATERAL (
    SELECT * FROM change_log c
     WHERE (c.xid, c.id) > ($1::xid8, $2::bigint) AND c.xid < pg_snapshot_xmin(pg_current_snapshot())
     ORDER BY c.xid, c.id LIMIT $3) c ON true
 ORDER BY c.xid, c.id`;

/**
 * Catch-up read: rows in (after, until], which the live reader has already passed (all final),
 * plus whether `until` is still of this history ($6: its stamp or null): a restore the reader has
 * not seen yet would otherwise let a catch-up read the new history up to a position of the lost
 * one, transactions still open below it included.
 */
const RANGE_SQL = `
WITH s AS MATERIALIZED (
  SELECT f.pruned_xid, f.pruned_id::text AS pruned_id, branchline_feed_epoch() AS epoch,
         ($3::xid8, $4::bigint) <= (pg_snapshot_xmin(pg_current_snapshot()), 0::bigint) AS reached,
         ($6::bigint IS NULL OR EXISTS (
            SELECT 1 FROM change_log a WHERE a.xid = $3::xid8 AND a.id = $4::bigint
               AND branchline_change_stamp(a.created_at) = $6::bigint)) AS found
    FROM feed_state f WHERE f.id = 1)
SELECT false AS held, s.pruned_xid, s.pruned_id, s.epoch, s.reached, s.found, ${COLUMNS}
  FROM s LEFT JOIN LATERAL (
    SELECT * FROM change_log c
     WHERE (c.xid, c.id) > ($1::xid8, $2::bigint) AND (c.xid, c.id) <= ($3::xid8, $4::bigint)
     ORDER BY c.xid, c.id LIMIT $5) c ON true
 ORDER BY c.xid, c.id`;

function toRow(r: RawRow): ChangeRow {
  return {
    xid: r.xid as string,
    id: r.id as string,
    tbl: r.tbl,
    op: r.op,
    rowId: r.row_id,
    version: r.version,
    data: r.data,
    changed: r.changed,
    actor: r.actor,
    branchId: r.branch_id,
    at: r.created_at,
  };
}

function prunedOf(
  r: { pruned_xid: string | null; pruned_id: string | null } | undefined,
): FeedPosition | null {
  return r?.pruned_xid && r.pruned_id ? { xid: r.pruned_xid, id: r.pruned_id } : null;
}

export class ChangeReader {
  readonly log: Logger;
  epoch = '';
  /** The last position handed to the hub (or the live end when the process started). */
  position: FeedPosition | null = null;
  lastReadAt = 0;
  lastError: string | null = null;
  /** When a read last reached the horizon (no backlog left, no error): readiness (src/ops/ready.ts). */
  caughtUpAt = 0;
  private reading = false;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private heldTimer: NodeJS.Timeout | undefined;
  private heldDelay = 0;
  private readonly batchSize: number;
  private readyResolve!: () => void;
  /** Resolves once the epoch and the starting position are known. */
  readonly ready: Promise<void> = new Promise((r) => {
    this.readyResolve = r;
  });

  constructor(private readonly opts: ReaderOptions) {
    this.log = opts.log.child({ module: 'feed-reader' });
    this.batchSize = opts.batchSize ?? 1000;
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.request(), this.opts.pollMs);
    this.timer.unref();
    this.request();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.heldTimer) clearTimeout(this.heldTimer);
  }

  /** Asks for a read; coalesces with a read in progress (one more read runs after it). */
  request(): void {
    if (this.stopped) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    let held = false;
    try {
      if (!this.position) await this.init();
      do {
        this.again = false;
        const batch = await this.readBatch();
        held = batch.held;
        if (batch.full) this.again = true;
      } while (this.again && !this.stopped);
      this.lastError = null;
      this.caughtUpAt = Date.now();
    } catch (err) {
      this.lastError = (err as Error).message;
      this.log.warn({ err: this.lastError }, 'change-log read failed; will retry');
      held = true;
    } finally {
      this.reading = false;
    }
    if (this.stopped) return;
    if (this.again) {
      this.request();
    } else if (held) {
      // Committed rows wait behind an older open transaction (or the read failed): look again
      // soon, backing off to 250 ms.
      this.heldDelay = Math.min(Math.max(this.heldDelay * 2, 20), 250);
      if (this.heldTimer) clearTimeout(this.heldTimer);
      this.heldTimer = setTimeout(() => this.request(), this.heldDelay);
      this.heldTimer.unref();
    } else {
      this.heldDelay = 0;
    }
  }

  /** The epoch and the live end: the newest change below the read horizon (or the horizon). */
  private async liveEnd(): Promise<{ epoch: string; position: FeedPosition }> {
    const { rows } = await this.opts.pool.query<{
      epoch: string | null;
      xid: string;
      id: string;
      stamp: string | null;
    }>(SNAPSHOT_POSITION_SQL);
    const row = rows[0];
    if (!row?.epoch) throw new Error('feed_state has no row: is the database migrated?');
    return { epoch: row.epoch, position: { xid: row.xid, id: row.id, stamp: row.stamp } };
  }

  private async init(): Promise<void> {
    const { rows: foreign } = await this.opts.pool.query<{ ahead: boolean }>(
      'SELECT EXISTS (SELECT 1 FROM change_log WHERE xid >= pg_snapshot_xmax(pg_current_snapshot())) AS ahead',
    );
    if (foreign[0]?.ahead) {
      // No change can carry a transaction id this cluster has not assigned yet: the log was
      // copied in from another cluster (a logical restore). New changes would sort before it.
      this.log.error(
        'change_log holds transaction ids this cluster has not reached (a pg_dump restore from another cluster?): empty it as docs/change-feed.md says, or new changes are held back',
      );
    }
    const start = await this.liveEnd();
    this.epoch = start.epoch;
    this.position = start.position;
    this.opts.onStart(this.position);
    this.log.info({ epoch: this.epoch, position: this.position }, 'change feed starts at the live end');
    this.readyResolve();
  }

  private async readBatch(): Promise<{ held: boolean; full: boolean }> {
    const pos = this.position as FeedPosition;
    // A named statement: parsed and planned once per connection, not on every wake-up (planning
    // was half of an empty read's time).
    const { rows } = await this.opts.pool.query<RawRow>({
      name: 'branchline-feed-live',
      text: LIVE_SQL,
      values: [pos.xid, pos.id, this.batchSize, pos.stamp ?? null],
    });
    this.lastReadAt = Date.now();
    const head = rows[0];
    if (head && head.epoch !== this.epoch) {
      // Another process rotated the epoch, or the timeline or system identifier changed.
      return this.newHistory('the feed epoch changed', false);
    }
    const pruned = prunedOf(head);
    const vsPruned = pruned ? comparePositions(pos, pruned) : 1;
    if (head && (!head.reached || (vsPruned > 0 && !head.found))) {
      // The log's newest position is below what this process read, or the change it last read
      // is gone: the database went back (data folder put back, PITR, lost asynchronous commits).
      return this.newHistory('the change log went back behind what this process had read', true);
    }
    if (pruned && vsPruned < 0) {
      // Rows this process never delivered were pruned (it was stopped or stuck for longer than
      // the retention). Subscriptions cannot continue without a gap: they end with CURSOR_EXPIRED.
      this.log.error({ position: pos, pruned }, 'the change feed fell behind the pruned horizon');
      this.position = pruned;
      this.opts.onPrunedAhead(pruned);
      return { held: false, full: true };
    }
    const changes = rows.filter((r) => r.xid !== null).map(toRow);
    if (changes.length > 0) {
      const last = changes[changes.length - 1] as ChangeRow;
      this.position = { xid: last.xid, id: last.id, stamp: stampOf(last.at) };
      this.opts.deliver(changes, this.position);
    }
    return { held: rows[0]?.held ?? false, full: changes.length >= this.batchSize };
  }

  /**
   * The database is not the history this process read: rotate the epoch when the log went back
   * (once, whichever process sees it first; a compare-and-set on the epoch it knew), start again
   * at the new live end, and end every subscription (they would otherwise skip or repeat).
   */
  private async newHistory(reason: string, rotate: boolean): Promise<{ held: boolean; full: boolean }> {
    const before = { epoch: this.epoch, position: this.position };
    if (rotate) {
      await this.opts.pool.query(
        'UPDATE feed_state SET epoch = gen_random_uuid() WHERE id = 1 AND branchline_feed_epoch() = $1',
        [this.epoch],
      );
    }
    const start = await this.liveEnd();
    this.epoch = start.epoch;
    this.position = start.position;
    this.log.error(
      { reason, before, epoch: this.epoch, position: this.position },
      'the database is not the history this process read (restored, failed over or commits lost): every subscription ends with CURSOR_EXPIRED',
    );
    this.opts.onNewHistory(this.position);
    return { held: false, full: true };
  }

  /**
   * Catch-up: the rows in (after, until] in order, page by page. `until` must be a position the
   * live reader has reached (so every row up to it is final). Throws CURSOR_EXPIRED when `after`
   * is behind the pruned horizon. The next page is read while the caller handles the current one
   * (the same query with the same bounds, only earlier: at most one read in flight).
   */
  async *range(
    after: FeedPosition,
    until: FeedPosition,
    pageSize = 500,
    /** Whether the reader is gone: a page still waiting for a connection is then not read. */
    cancelled?: () => boolean,
  ): AsyncGenerator<ChangeRow[]> {
    if (comparePositions(after, until) >= 0) return;
    let from = after;
    let next: Promise<pg.QueryResult<RawRow>> | null = this.rangePage(from, until, pageSize, cancelled);
    while (next) {
      const { rows } = await next;
      next = null;
      if (rows[0] && rows[0].epoch !== this.epoch) {
        // The database's history changed under this catch-up: the live reader will notice too.
        this.request();
        throw new CursorError(
          'The database history changed (restored or failed over); reload and subscribe again',
          'CURSOR_EXPIRED',
        );
      }
      const pruned = prunedOf(rows[0]);
      if (pruned && comparePositions(from, pruned) < 0) {
        throw new CursorError(
          'The cursor is older than the retained change log; reload and subscribe again',
          'CURSOR_EXPIRED',
        );
      }
      if (rows[0] && (!rows[0].reached || !rows[0].found)) {
        // Where the live reader got to is not in the database's history any more (restored, failed
        // over, commits lost) and the reader has not noticed yet: it will now.
        this.request();
        throw new CursorError(
          'The database history changed (restored or failed over); reload and subscribe again',
          'CURSOR_EXPIRED',
        );
      }
      const changes = rows.filter((r) => r.xid !== null).map(toRow);
      if (changes.length === 0) return;
      const last = changes[changes.length - 1] as ChangeRow;
      from = { xid: last.xid, id: last.id };
      if (changes.length >= pageSize && comparePositions(from, until) < 0) {
        next = this.rangePage(from, until, pageSize, cancelled);
        // Let the pool hand out a client and send the query before the caller works on this page.
        await new Promise<void>((r) => setImmediate(r));
      }
      yield changes;
    }
  }

  private rangePage(from: FeedPosition, until: FeedPosition, pageSize: number, cancelled?: () => boolean) {
    const page = this.opts.catchUp.query<RawRow>(
      RANGE_SQL,
      [from.xid, from.id, until.xid, until.id, pageSize, until.stamp ?? null],
      cancelled,
    );
    // A prefetched page may fail while nobody awaits it yet (or ever, if the caller stops early):
    // never an unhandled rejection; whoever awaits `page` still gets the error.
    page.catch(() => {});
    return page;
  }

  /**
   * A position checked against the database's current history (CHECK_POSITION_SQL), on the
   * catch-up pool: subscriptions starting by the hundred never queue on the API's pool.
   */
  async checkPosition(position: FeedPosition): Promise<PositionCheck> {
    const { rows } = await this.opts.catchUp.query<PositionCheck>(CHECK_POSITION_SQL, [
      position.xid,
      position.id,
      position.stamp ?? null,
    ]);
    const row = rows[0];
    if (!row) throw new Error('feed_state has no row: is the database migrated?');
    return row;
  }
}
