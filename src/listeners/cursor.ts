/**
 * Change-feed cursors: a position `(xid, id)` in the global change order, the stamp of the change
 * at that position, and the feed epoch of the history the cursor came from. Opaque to clients:
 * `<epoch>:<xid>:<id>:<stamp>`, or `<epoch>:<xid>:0` for a horizon with no change below it.
 *
 * A change is "after" a cursor when `(change.xid, change.id) > (cursor.xid, cursor.id)`.
 *
 * A cursor is valid only in the history it came from (Feed.parseCursor checks all of it, in one
 * statement): its epoch is the database's current one (`branchline_feed_epoch()`: system
 * identifier, timeline, and a value rotated when the log is found to have gone back), its
 * position is not ahead of the database's read horizon, and the change it names still exists with
 * the same stamp (a restored history reuses transaction ids and log ids, never their stamps).
 */

export interface FeedPosition {
  /** xid8 of the writing transaction, as a decimal string. */
  xid: string;
  /** change_log.id (bigint), as a decimal string. */
  id: string;
  /**
   * The stamp of the change at this position (`branchline_change_stamp(created_at)`, decimal
   * milliseconds); absent for a bare horizon `(xmin, 0)` or a pruned horizon.
   */
  stamp?: string | null;
}

export interface Cursor extends FeedPosition {
  epoch: string;
}

export class CursorError extends Error {
  override name = 'CursorError';
  constructor(
    message: string,
    /** CURSOR_EXPIRED: reload and subscribe afresh. BAD_CURSOR: not a cursor at all. */
    readonly code: 'CURSOR_EXPIRED' | 'BAD_CURSOR',
  ) {
    super(message);
  }
}

const DIGITS = /^\d{1,20}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The stamp of a change from its `created_at` (milliseconds, the column's precision). */
export function stampOf(at: Date): string {
  return String(at.getTime());
}

export function encodeCursor(c: Cursor): string {
  return c.stamp ? `${c.epoch}:${c.xid}:${c.id}:${c.stamp}` : `${c.epoch}:${c.xid}:${c.id}`;
}

/** Parses a cursor's text; refuses malformed ones (BAD_CURSOR). Checks nothing against the database. */
export function parseCursorText(text: string): Cursor {
  const parts = text.split(':');
  const [e, xid, id, stamp] = parts;
  if (
    (parts.length !== 3 && parts.length !== 4) ||
    !e ||
    !xid ||
    !id ||
    !UUID.test(e) ||
    !DIGITS.test(xid) ||
    !DIGITS.test(id) ||
    (stamp !== undefined && !DIGITS.test(stamp))
  ) {
    throw new CursorError('Malformed cursor', 'BAD_CURSOR');
  }
  return { epoch: e, xid, id, stamp: stamp ?? null };
}

/** Parses a cursor; refuses malformed ones (BAD_CURSOR) and other epochs (CURSOR_EXPIRED). */
export function decodeCursor(text: string, epoch: string): Cursor {
  const c = parseCursorText(text);
  if (c.epoch !== epoch) {
    throw new CursorError(
      'Cursor belongs to another database history (restored, failed over or recreated); reload and subscribe again',
      'CURSOR_EXPIRED',
    );
  }
  return c;
}

export function comparePositions(a: FeedPosition, b: FeedPosition): number {
  const ax = BigInt(a.xid);
  const bx = BigInt(b.xid);
  if (ax !== bx) return ax < bx ? -1 : 1;
  const ai = BigInt(a.id);
  const bi = BigInt(b.id);
  return ai === bi ? 0 : ai < bi ? -1 : 1;
}

/**
 * SQL for the feed position of the current snapshot, with the epoch: the newest change below the
 * snapshot's xmin (every transaction below xmin has finished, so no change can ever appear
 * between it and xmin), or `(xmin, 0)` when there is none. Run inside the REPEATABLE READ
 * transaction that reads a list, every change up to the position is visible in the list's
 * snapshot; changes after it may or may not be, and are delivered after the cursor (the client
 * ignores those whose version it already has: rows converge by version). The reader starts at
 * the live end with the same statement. Columns: epoch, xid, id, stamp (null without a change).
 */
export const SNAPSHOT_POSITION_SQL = `
SELECT branchline_feed_epoch() AS epoch, coalesce(c.xid, s.xmin)::text AS xid,
       coalesce(c.id, 0)::text AS id, branchline_change_stamp(c.created_at)::text AS stamp
  FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin) s
  LEFT JOIN LATERAL (
    SELECT l.xid, l.id, l.created_at FROM change_log l
     WHERE l.xid < s.xmin ORDER BY l.xid DESC, l.id DESC LIMIT 1) c ON true`;

/**
 * SQL that checks a position against this database's history, in one snapshot. Parameters: xid,
 * id, stamp (or null). Columns: epoch (the current one), pruned_xid/pruned_id (the pruned horizon),
 * reached (the position is not ahead of the read horizon `(xmin, 0)`: a cursor is never ahead of
 * it in its own history), found (its change exists with that stamp; true without a stamp).
 */
export const CHECK_POSITION_SQL = `
SELECT branchline_feed_epoch() AS epoch, f.pruned_xid, f.pruned_id::text AS pruned_id,
       ($1::xid8, $2::bigint) <= (pg_snapshot_xmin(pg_current_snapshot()), 0::bigint) AS reached,
       ($3::bigint IS NULL OR EXISTS (
          SELECT 1 FROM change_log a
           WHERE a.xid = $1::xid8 AND a.id = $2::bigint AND branchline_change_stamp(a.created_at) = $3::bigint)) AS found
  FROM feed_state f WHERE f.id = 1`;

export interface PositionCheck {
  epoch: string;
  pruned_xid: string | null;
  pruned_id: string | null;
  reached: boolean;
  found: boolean;
}

/**
 * Why a position cannot be served in the history `check` describes, or null when it can. The
 * pruned horizon itself is fine (its change is deleted, nothing after it is).
 */
export function positionProblem(position: FeedPosition, check: PositionCheck): string | null {
  const pruned = check.pruned_xid && check.pruned_id ? { xid: check.pruned_xid, id: check.pruned_id } : null;
  const vsPruned = pruned ? comparePositions(position, pruned) : 1;
  if (vsPruned < 0) return 'The cursor is older than the retained change log; reload and subscribe again';
  if (!check.reached) {
    return 'The cursor is ahead of the database: it comes from another history (restored, failed over or lost commits); reload and subscribe again';
  }
  if (vsPruned > 0 && !check.found) {
    return "The cursor's change is not in this database's history (restored, failed over or lost commits); reload and subscribe again";
  }
  return null;
}
