/**
 * One subscriber's ordered stream of changes: registers with the hub for live rows first, then
 * (with a cursor) catches up from the change log, and merges the two.
 *
 * Guarantees:
 * - Every change after the cursor that passes the filter is yielded exactly once, in
 *   `(xid, id)` order: catch-up covers (cursor, P], the live rows (P, ...), where P is the hub
 *   position at registration; live rows that arrive during catch-up wait and are then released
 *   (and re-read from the log instead when too many pile up), and nothing at or before the last
 *   yielded position is ever yielded again.
 * - Without a cursor it starts at the live end (P).
 * - Bounded memory: live rows queue up to `maxQueue`. A consumer that is reading but behind a
 *   burst (one large transaction) then continues from the log, paced by its reading; one that has
 *   read nothing for `STALL_MS` ends with `SUBSCRIBER_TOO_SLOW` (the client resumes from its last
 *   cursor). Catch-up waits for the consumer instead of queueing without bound.
 * - A cursor behind the pruned horizon ends the stream with `CURSOR_EXPIRED`, also when pruning
 *   overtakes the catch-up. A catch-up read retries only a passing connection problem, for at
 *   most `RETRY_FOR_MS` (then UNAVAILABLE); any other failure ends the stream at once.
 * - Held (grants.ts: access is being re-decided): from `hold()` on, nothing more is queued; live
 *   rows are dropped and a catch-up page is set aside; after `resume()` everything after the last
 *   queued row is read again from the log, under the filter then in force. `revoke()` ends the
 *   stream with an error, dropping what was queued.
 */
import type { GraphQLError } from 'graphql';
import { comparePositions, type FeedPosition } from './cursor.ts';
import { graphql } from './graphql.ts';
import type { Hub, Registration } from './hub.ts';
import type { ChangeReader, ChangeRow } from './reader.ts';
import { catchUpFailure, retryDelay } from './transient.ts';

export type FeedErrorCode =
  | 'SUBSCRIBER_TOO_SLOW'
  | 'CURSOR_EXPIRED'
  | 'BAD_CURSOR'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'TOO_MANY_SUBSCRIPTIONS';

export function feedError(code: FeedErrorCode, message: string): GraphQLError {
  return new graphql.GraphQLError(message, { extensions: { code } });
}

export const TOO_SLOW_MESSAGE = 'The subscriber did not keep up; resume from the last cursor received';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A consumer that has not read for this long while its buffer is full is too slow. */
export const STALL_MS = 2000;

export interface FeedSource {
  hub: Hub;
  reader: ChangeReader;
  /** Burst catch-ups started (a subscriber behind a burst continuing from the log). */
  counters?: { burstCatchUps: number };
}

export class FeedStream implements AsyncIterableIterator<ChangeRow> {
  private queue: ChangeRow[] = [];
  private waiter: { resolve: (r: IteratorResult<ChangeRow>) => void; reject: (e: unknown) => void } | null =
    null;
  private drained: (() => void) | null = null;
  private failure: unknown = null;
  private ended = false;
  private pending: ChangeRow[] | null = null;
  private pendingOverflow = false;
  private holding = false;
  private unheld: (() => void) | null = null;
  private lastPull = Date.now();
  private last: FeedPosition;
  private readonly reg: Registration;
  /** Hub position at registration: where a subscription without a cursor starts. */
  readonly start: FeedPosition;

  constructor(
    private readonly source: FeedSource,
    readonly filter: (row: ChangeRow) => boolean,
    private readonly maxQueue: number,
    after: FeedPosition | null,
    private readonly onEnd: () => void = () => {},
  ) {
    this.reg = source.hub.register({
      rows: (rows) => this.onLive(rows),
      expired: () =>
        this.fail(feedError('CURSOR_EXPIRED', 'The change feed was pruned past this subscription; reload')),
    });
    this.start = this.reg.position;
    this.last = this.start;
    if (after) {
      this.last = after;
      this.pending = [];
      void this.catchUp(this.start);
    }
  }

  /**
   * The rows in (after, until] that pass the filter, page by page (also used by groups). Once
   * `cancelled()` holds, a page still waiting for a connection is not read.
   */
  async *rows(
    after: FeedPosition,
    until: FeedPosition,
    cancelled: () => boolean = () => this.ended,
  ): AsyncGenerator<ChangeRow[]> {
    for await (const page of this.source.reader.range(after, until, undefined, cancelled)) {
      yield page.filter(this.filter);
    }
  }

  private onLive(rows: readonly ChangeRow[]): void {
    for (const row of rows) {
      if (!this.filter(row)) continue;
      if (this.pending) {
        if (this.pendingOverflow) continue;
        if (this.pending.length >= this.maxQueue) {
          // Too much arrives during catch-up: drop it and read it from the log afterwards.
          this.pending = [];
          this.pendingOverflow = true;
          continue;
        }
        this.pending.push(row);
      } else {
        this.push(row);
        if (this.ended) return;
      }
    }
  }

  private push(row: ChangeRow, catchingUp = false): void {
    if (this.ended || comparePositions(row, this.last) <= 0) return;
    if (this.waiter) {
      this.last = row;
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ value: row, done: false });
      return;
    }
    if (!catchingUp && this.queue.length >= this.maxQueue) {
      if (Date.now() - this.lastPull > STALL_MS) {
        this.fail(feedError('SUBSCRIBER_TOO_SLOW', TOO_SLOW_MESSAGE));
        return;
      }
      // Reading, but behind a burst: continue from the log (this row included), paced by the
      // consumer; live rows wait meanwhile.
      if (this.source.counters) this.source.counters.burstCatchUps++;
      this.pending = [];
      void this.catchUp(this.source.hub.position ?? row);
      return;
    }
    this.last = row;
    this.queue.push(row);
  }

  /** Reads (last, until] from the log into the queue at the consumer's pace, then releases `pending`. */
  private async catchUp(until: FeedPosition): Promise<void> {
    let failingSince: number | undefined;
    for (let attempt = 0; !this.ended; ) {
      try {
        for await (const page of this.rows(this.last, until)) {
          failingSince = undefined;
          if (this.holding) break;
          for (const row of page) this.push(row, true);
          while (this.queue.length >= this.maxQueue / 2 && !this.ended) {
            const drained = new Promise<void>((r) => {
              this.drained = r;
            });
            await Promise.race([drained, sleep(STALL_MS)]);
            if (this.queue.length >= this.maxQueue / 2 && Date.now() - this.lastPull > STALL_MS) {
              this.fail(feedError('SUBSCRIBER_TOO_SLOW', TOO_SLOW_MESSAGE));
            }
          }
          if (this.ended) return;
        }
        if (this.holding) {
          await new Promise<void>((r) => {
            this.unheld = r;
          });
          continue;
        }
        if (!this.pendingOverflow) break;
        // Live rows were dropped during catch-up: read up to where the hub is now, then release
        // what arrives from here on.
        this.pendingOverflow = false;
        this.pending = [];
        until = this.source.hub.position ?? until;
      } catch (err) {
        if (this.ended) return;
        // Only a passing connection problem is retried (from where catch-up got to), and not
        // for ever; anything else ends the subscription with its code.
        failingSince ??= Date.now();
        const end = catchUpFailure(err, failingSince, this.source.reader.log);
        if (end) {
          this.fail(end);
          return;
        }
        attempt++;
        await sleep(retryDelay(attempt));
      }
    }
    const live = this.pending ?? [];
    this.pending = null;
    for (const row of live) this.push(row, true);
  }

  /** Access is being re-decided: queue nothing more until `resume()` (see the module comment). */
  hold(): void {
    if (this.ended || this.holding) return;
    this.holding = true;
    const catchingUp = this.pending !== null;
    this.pending = [];
    this.pendingOverflow = true;
    // Not catching up: start one that waits for resume() and then reads what was dropped.
    if (!catchingUp) void this.catchUp(this.last);
  }

  /** Goes on under the filter now in force, from the last row queued. */
  resume(): void {
    if (!this.holding) return;
    this.holding = false;
    const w = this.unheld;
    this.unheld = null;
    w?.();
  }

  /** Ends at once with `err` (access withdrawn): nothing queued is delivered any more. */
  revoke(err: unknown): void {
    this.queue = [];
    this.pending = null;
    this.fail(err);
  }

  private fail(err: unknown): void {
    if (this.ended) return;
    this.failure = err;
    this.finish();
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.reject(err);
      this.failure = null;
    }
  }

  private finish(): void {
    this.ended = true;
    this.reg.unregister();
    this.onEnd();
    this.drained?.();
    this.unheld?.();
  }

  next(): Promise<IteratorResult<ChangeRow>> {
    this.lastPull = Date.now();
    const row = this.queue.shift();
    if (row) {
      if (this.drained && this.queue.length < this.maxQueue / 2) {
        const d = this.drained;
        this.drained = null;
        d();
      }
      return Promise.resolve({ value: row, done: false });
    }
    if (this.failure) {
      const err = this.failure;
      this.failure = null;
      return Promise.reject(err);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    if (this.drained) {
      const d = this.drained;
      this.drained = null;
      d();
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<ChangeRow>> {
    this.queue = [];
    this.failure = null;
    if (!this.ended) this.finish();
    if (this.waiter) {
      this.waiter.resolve({ value: undefined, done: true });
      this.waiter = null;
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(err?: unknown): Promise<IteratorResult<ChangeRow>> {
    void this.return();
    return Promise.reject(err);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
