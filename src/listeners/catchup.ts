/**
 * Catch-up reads on a small pool of their own. A subscription that resumes from a cursor checks
 * the cursor and reads pages of the change log here, never on the API's pool, so however many
 * catch-ups run (one client subscribing hundreds of times and never reading), requests still get
 * their connections.
 *
 * Guarantees:
 * - At most `size` catch-up reads run at once, each on a connection of this pool; the API's pool
 *   is never used for them.
 * - Waiting reads start in arrival order.
 * - A read whose subscription ended while it waited never reaches the database: it fails with
 *   `CatchUpCancelled`, which nobody sees (the subscription is gone).
 *
 * Not guaranteed: an equal share per user. The per-user subscription cap bounds how many reads
 * one user can have waiting (each catch-up has at most one read in flight).
 */
import pg from 'pg';
import type { Logger } from '../logger.ts';

export class CatchUpCancelled extends Error {
  constructor() {
    super('the subscription ended before its catch-up read started');
  }
}

export class CatchUpPool {
  private readonly pool: pg.Pool;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  /** `base`: the API pool, whose connection settings (URL, timeouts) the catch-up pool copies. */
  constructor(
    base: pg.Pool,
    readonly size: number,
    log: Logger,
  ) {
    this.pool = new pg.Pool({ ...base.options, max: size, application_name: 'branchline-feed-catchup' });
    this.pool.on('error', (err) =>
      log.warn({ module: 'feed-catchup', err: err.message }, 'idle catch-up connection failed'),
    );
  }

  /** Reads running now. */
  get active(): number {
    return this.running;
  }

  /** Connections open now (idle or busy). */
  get connections(): number {
    return this.pool.totalCount;
  }

  /** Reads waiting for a connection now. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Runs one read when a place is free, unless `cancelled()` says its reader is gone by then. */
  async query<R extends pg.QueryResultRow>(
    sql: string,
    params: unknown[],
    cancelled?: () => boolean,
  ): Promise<pg.QueryResult<R>> {
    if (this.running < this.size) this.running++;
    else await new Promise<void>((r) => this.waiting.push(r));
    try {
      if (cancelled?.()) throw new CatchUpCancelled();
      return await this.pool.query<R>(sql, params);
    } finally {
      // Hand the place to the next waiting read, or give it back.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  async end(): Promise<void> {
    await this.pool.end().catch(() => {});
  }
}
