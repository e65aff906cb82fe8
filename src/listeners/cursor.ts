/**
 * Change-feed cursors: a position `(xid, id)` in the global change order, plus the database's
 * feed epoch so that a cursor from another (restored, recreated) database is refused rather than
 * silently misread. Opaque to clients: `<epoch>:<xid>:<id>`.
 *
 * A change is "after" a cursor when `(change.xid, change.id) > (cursor.xid, cursor.id)`.
 */

export interface FeedPosition {
  /** xid8 of the writing transaction, as a decimal string. */
  xid: string;
  /** change_log.id (bigint), as a decimal string. */
  id: string;
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

export function encodeCursor(c: Cursor): string {
  return `${c.epoch}:${c.xid}:${c.id}`;
}

/** Parses a cursor; refuses malformed ones (BAD_CURSOR) and other epochs (CURSOR_EXPIRED). */
export function decodeCursor(text: string, epoch: string): Cursor {
  const parts = text.split(':');
  const [e, xid, id] = parts;
  if (parts.length !== 3 || !e || !xid || !id || !UUID.test(e) || !DIGITS.test(xid) || !DIGITS.test(id)) {
    throw new CursorError('Malformed cursor', 'BAD_CURSOR');
  }
  if (e !== epoch) {
    throw new CursorError(
      'Cursor belongs to another database epoch; reload and subscribe again',
      'CURSOR_EXPIRED',
    );
  }
  return { epoch: e, xid, id };
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
 * SQL that, run inside the REPEATABLE READ transaction that reads a list, gives the feed position
 * of that snapshot: every change of a transaction below the snapshot's xmin is visible in it.
 * Changes at or above xmin may or may not be; they are delivered after the cursor, and the client
 * ignores any whose version it already has (rows converge by version).
 */
export const SNAPSHOT_POSITION_SQL =
  "SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xid, '0' AS id, (SELECT epoch::text FROM feed_state WHERE id = 1) AS epoch";
