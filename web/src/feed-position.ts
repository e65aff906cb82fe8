/**
 * Where the browser's change feed must start so that no list in the cache misses a change.
 *
 * Every list the app loads carries the cursor of its snapshot (`feedCursor`): the list shows the
 * database up to that cursor, and every change after it must reach the cache after the list was
 * written. Two ways the feed could be ahead of a list, and what this module decides instead:
 * - A list loaded before the feed knows where to start (views render anyway after a short wait
 *   when the server is slow): the feed starts from the oldest such list cursor, not from a later
 *   snapshot of its own.
 * - A list whose response arrives after the feed has applied changes beyond that list's snapshot
 *   (the list overwrote them in the cache with older rows): the feed restarts from the list's
 *   cursor. Replayed changes are harmless: rows converge by version.
 *
 * Cursors are opaque to views; only this module compares them, by position, and only within one
 * epoch (`<epoch>:<xid>:<id>[:<stamp>]`). A cursor of another epoch is a different database
 * history: the feed gets CURSOR_EXPIRED for it and every view reloads.
 */

interface Position {
  epoch: string;
  xid: bigint;
  id: bigint;
}

function parse(cursor: string): Position | null {
  const [epoch, xid, id] = cursor.split(':');
  if (!epoch || !xid || !id || !/^\d+$/.test(xid) || !/^\d+$/.test(id)) return null;
  return { epoch, xid: BigInt(xid), id: BigInt(id) };
}

/** Negative when `a` is before `b`, 0 at the same position, positive after; null if not comparable. */
export function compareCursors(a: string, b: string): number | null {
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb || pa.epoch !== pb.epoch) return null;
  if (pa.xid !== pb.xid) return pa.xid < pb.xid ? -1 : 1;
  return pa.id === pb.id ? 0 : pa.id < pb.id ? -1 : 1;
}

export class FeedStart {
  /** Where the feed is: the cursor it started from, then the last change it applied. */
  private at: string | null = null;
  /** The oldest list snapshot seen while the feed had no position yet. */
  private floor: string | null = null;

  get position(): string | null {
    return this.at;
  }

  /**
   * A list's snapshot cursor, from the network (not from the cache). Returns the cursor the feed
   * must restart from, or null when it need not.
   */
  list(cursor: string): string | null {
    if (this.at === null) {
      const c = this.floor === null ? null : compareCursors(cursor, this.floor);
      // Not comparable: another history; the latest list's is the one to follow.
      if (this.floor === null || c === null || c < 0) this.floor = cursor;
      return null;
    }
    const c = compareCursors(cursor, this.at);
    if (c === null || c >= 0) return null;
    this.at = cursor;
    return cursor;
  }

  /** The feed starts: from `candidate` (stored or fresh), or from an older list's snapshot. */
  start(candidate: string): string {
    const floor = this.floor;
    this.floor = null;
    const c = floor === null ? null : compareCursors(floor, candidate);
    this.at = floor !== null && c !== null && c < 0 ? floor : candidate;
    return this.at;
  }

  /** The feed applied a change. */
  applied(cursor: string): void {
    this.at = cursor;
  }

  /** The feed stopped or its cursor expired: it has no position until it starts again. */
  reset(): void {
    this.at = null;
    this.floor = null;
  }
}
