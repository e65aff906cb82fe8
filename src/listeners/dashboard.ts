/**
 * Shared live dashboards: one per branch that somebody watches, however many subscribers.
 *
 * Guarantees:
 * - The figures are recomputed (one query) after changes that can move them (orders, order
 *   items and stock levels of the branch, products), at most once per `minIntervalMs` (250 ms)
 *   however many changes arrive, and once more after the last change of a burst.
 * - A subscriber first gets the current figures, then every newer set; a subscriber that reads
 *   slowly skips to the newest set instead of queueing old ones (memory per subscriber: one set).
 * - A hub-wide expiry does not stop it: it registers again and recomputes.
 * - The branch's dashboard stops listening when its last subscriber leaves, and then runs no
 *   further query (one already running finishes, and its result is dropped).
 * - A failing query is retried with a growing delay (`minIntervalMs` doubled per failure, at most
 *   `MAX_RETRY_MS`), only while somebody watches, and only for a passing connection problem and
 *   at most `RETRY_FOR_MS`: then, or at once for any other failure, every subscriber of the board
 *   ends with UNAVAILABLE or INTERNAL_SERVER_ERROR (logged) instead of waiting for ever.
 * - A subscriber held while its access is re-decided (grants.ts) gets no figures between `hold()`
 *   and `resume()`; the newest set waits for it.
 */
import type pg from 'pg';
import type { Logger } from '../logger.ts';
import { computeDashboard, type DashboardFigures } from '../resolvers/dashboard.ts';
import type { Hub, Registration } from './hub.ts';
import type { ChangeRow } from './reader.ts';
import { catchUpFailure } from './transient.ts';

const RELEVANT = new Set(['orders', 'order_items', 'stock_levels']);
/** The longest wait before retrying a failed dashboard query. */
const MAX_RETRY_MS = 10_000;

class BranchDashboard {
  readonly streams = new Set<DashboardStream>();
  latest: DashboardFigures | null = null;
  private reg: Registration | null = null;
  private timer: NodeJS.Timeout | null = null;
  private computing = false;
  private dirty = false;
  private lastAt = 0;
  private closed = false;
  /** Failed queries in a row (the retry delay grows with them), and since when. */
  private failures = 0;
  private failingSince: number | undefined;

  constructor(
    private readonly owner: Dashboards,
    readonly branchId: string,
  ) {}

  open(): void {
    this.reg = this.owner.hub.register({
      rows: (rows) => {
        if (rows.some((r) => this.relevant(r))) this.schedule();
      },
      // A hub-wide expiry (pruned past this process, a new database history) drops every
      // listener; figures need no position, so the board registers again and recomputes.
      expired: () => this.open(),
    });
    this.schedule();
  }

  close(): void {
    this.closed = true;
    this.reg?.unregister();
    this.reg = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private relevant(r: ChangeRow): boolean {
    return r.tbl === 'products' || (RELEVANT.has(r.tbl) && r.branchId === this.branchId);
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.computing || this.timer) {
      this.dirty = true;
      return;
    }
    const interval =
      this.failures === 0
        ? this.owner.minIntervalMs
        : Math.min(this.owner.minIntervalMs * 2 ** this.failures, MAX_RETRY_MS);
    const wait = Math.max(0, this.lastAt + interval - Date.now());
    this.timer = setTimeout(() => void this.compute(), wait);
  }

  private async compute(): Promise<void> {
    this.timer = null;
    if (this.closed) return;
    this.computing = true;
    this.dirty = false;
    this.owner.queries++;
    try {
      const figures = await computeDashboard(this.owner.pool, this.branchId);
      this.failures = 0;
      this.failingSince = undefined;
      if (!this.closed) {
        this.latest = figures;
        this.owner.computations++;
        for (const s of this.streams) s.offer(figures);
      }
    } catch (err) {
      this.failures++;
      this.failingSince ??= Date.now();
      this.owner.log.warn(
        { err: (err as Error).message, branchId: this.branchId, failures: this.failures },
        'dashboard query failed',
      );
      const log = this.owner.log.child({ branchId: this.branchId });
      const end = catchUpFailure(err, this.failingSince, log, 'dashboard query');
      // Not worth retrying (or not any more): the subscribers end and may subscribe again.
      if (end) for (const s of [...this.streams]) s.fail(end);
      else this.dirty = true;
    } finally {
      this.lastAt = Date.now();
      this.computing = false;
    }
    if (this.dirty) this.schedule();
  }
}

export class DashboardStream implements AsyncIterableIterator<DashboardFigures> {
  private next_: DashboardFigures | null = null;
  private waiter: {
    resolve: (r: IteratorResult<DashboardFigures>) => void;
    reject: (err: unknown) => void;
  } | null = null;
  private failure: unknown = null;
  private ended = false;
  /** Access is being re-decided (grants.ts): figures wait, the newest only, until `resume()`. */
  private holding = false;

  constructor(
    board: BranchDashboard,
    private readonly onEnd: () => void,
  ) {
    if (board.latest) this.next_ = board.latest;
  }

  offer(figures: DashboardFigures): void {
    if (this.ended) return;
    if (this.waiter && !this.holding) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ value: figures, done: false });
    } else {
      this.next_ = figures;
    }
  }

  hold(): void {
    this.holding = true;
  }

  resume(): void {
    if (!this.holding) return;
    this.holding = false;
    if (this.waiter && this.next_) {
      const w = this.waiter;
      const value = this.next_;
      this.waiter = null;
      this.next_ = null;
      w.resolve({ value, done: false });
    }
  }

  next(): Promise<IteratorResult<DashboardFigures>> {
    if (this.next_ && !this.holding) {
      const value = this.next_;
      this.next_ = null;
      return Promise.resolve({ value, done: false });
    }
    if (this.failure) {
      const err = this.failure;
      this.failure = null;
      return Promise.reject(err);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Ends the stream with an error (the figures cannot be computed). */
  fail(err: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.next_ = null;
    this.onEnd();
    if (this.waiter) {
      this.waiter.reject(err);
      this.waiter = null;
    } else {
      this.failure = err;
    }
  }

  return(): Promise<IteratorResult<DashboardFigures>> {
    if (!this.ended) {
      this.ended = true;
      this.onEnd();
      this.waiter?.resolve({ value: undefined, done: true });
      this.waiter = null;
    }
    this.failure = null;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

export class Dashboards {
  private readonly boards = new Map<string, BranchDashboard>();
  /** How many times figures were computed (tests check the throttle). */
  computations = 0;
  /** Dashboard queries started, failed ones included. */
  queries = 0;

  constructor(
    readonly hub: Hub,
    readonly pool: pg.Pool,
    readonly log: Logger,
    readonly minIntervalMs = 250,
  ) {}

  subscribe(branchId: string, onEnd: () => void): DashboardStream {
    let board = this.boards.get(branchId);
    if (!board) {
      board = new BranchDashboard(this, branchId);
      this.boards.set(branchId, board);
      board.open();
    }
    const b = board;
    const stream: DashboardStream = new DashboardStream(b, () => {
      b.streams.delete(stream);
      onEnd();
      if (b.streams.size === 0) {
        b.close();
        this.boards.delete(branchId);
      }
    });
    b.streams.add(stream);
    return stream;
  }
}
