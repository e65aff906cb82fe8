/**
 * The in-process hub: fans each batch the change-log reader delivers out to every registered
 * stream (a subscription, a subscription group, a dashboard), synchronously and in order.
 *
 * Guarantees:
 * - A listener registered at position P receives every row after P that the reader delivers
 *   afterwards, each once, in `(xid, id)` order; rows up to P are final, so a catch-up read of
 *   (cursor, P] plus the live rows is gap-free and has no duplicates.
 * - Registration is synchronous: once `register` returns, no row can slip between the position it
 *   reports and the first live batch.
 * - One listener that throws cannot stop the others (it is logged and dropped).
 * - Access changes in order: with `access` set (grants.ts), each row it finds relevant is handed
 *   to it before that row, or any row after it, reaches any listener; a batch is delivered in
 *   pieces around such rows. Before each batch it may end subscriptions whose token expired.
 */
import type { Logger } from '../logger.ts';
import { type FeedPosition, stampOf } from './cursor.ts';
import type { ChangeRow } from './reader.ts';

export interface HubListener {
  rows(rows: readonly ChangeRow[]): void;
  /**
   * The feed cannot continue gap-free for this listener (pruned past it, or the database is another
   * history): it has been unregistered.
   */
  expired(): void;
}

/** Re-decides access between rows (src/listeners/grants.ts). */
export interface AccessHook {
  relevant(row: ChangeRow): boolean;
  apply(row: ChangeRow): void;
  beforeDeliver(): void;
}

export interface Registration {
  /** Every row up to here was delivered before registration; every later row will be. */
  position: FeedPosition;
  unregister(): void;
}

export class Hub {
  private readonly listeners = new Set<HubListener>();
  position: FeedPosition | null = null;
  /** Sees access changes first, in order (set by the feed). */
  access: AccessHook | null = null;
  private readonly log: Logger;

  constructor(log: Logger) {
    this.log = log.child({ module: 'feed-hub' });
  }

  get size(): number {
    return this.listeners.size;
  }

  register(listener: HubListener): Registration {
    if (!this.position) throw new Error('the change feed is not ready');
    this.listeners.add(listener);
    return { position: this.position, unregister: () => this.listeners.delete(listener) };
  }

  /** Called by the reader with each batch, in order. */
  deliver(rows: readonly ChangeRow[], position: FeedPosition): void {
    const access = this.access;
    if (!access) {
      this.send(rows, position);
      return;
    }
    access.beforeDeliver();
    let from = 0;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as ChangeRow;
      if (!access.relevant(row)) continue;
      if (i > from) {
        const last = rows[i - 1] as ChangeRow;
        this.send(rows.slice(from, i), { xid: last.xid, id: last.id, stamp: stampOf(last.at) });
      }
      try {
        access.apply(row);
      } catch (err) {
        this.log.error({ err }, 'an access change could not be applied');
      }
      from = i;
    }
    this.send(from === 0 ? rows : rows.slice(from), position);
  }

  private send(rows: readonly ChangeRow[], position: FeedPosition): void {
    this.position = position;
    for (const l of this.listeners) {
      try {
        l.rows(rows);
      } catch (err) {
        this.log.error({ err }, 'feed listener failed; dropping it');
        this.listeners.delete(l);
      }
    }
  }

  /**
   * The feed cannot continue gap-free from where it was (pruned past this process, or a new
   * history): every listener is dropped and told. A listener that needs no position (a dashboard)
   * may register again from inside `expired()`; it then gets the rows after `position`.
   */
  expireAll(position: FeedPosition): void {
    this.position = position;
    const expired = [...this.listeners];
    this.listeners.clear();
    for (const l of expired) {
      try {
        l.expired();
      } catch (err) {
        this.log.error({ err }, 'feed listener failed on expiry');
      }
    }
  }
}
