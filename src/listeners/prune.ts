/**
 * Change-log retention. Deletes log rows older than the retention and records the pruned horizon
 * in `feed_state`; a cursor behind that horizon then gets CURSOR_EXPIRED instead of a silent gap.
 *
 * Guarantees:
 * - Runs on one instance at a time: a transaction-scoped advisory lock; an instance that does not
 *   get it skips this round.
 * - Deletes a prefix of the global `(xid, id)` order, only below the read horizon, and moves the
 *   recorded horizon in the same transaction, so readers (which read the horizon in the same
 *   snapshot as their rows) never miss a deletion.
 * - Retention is measured by `created_at` (the writing transaction's start); the prefix ends at
 *   the newest row old enough, so a row a little younger that sorts before it (its transaction
 *   took its xid earlier) goes with it.
 */
import type pg from 'pg';
import type { Logger } from '../logger.ts';

/** Advisory lock key of the pruning job. */
const PRUNE_LOCK_KEY = '7306086876127474286';

export interface PruneResult {
  ran: boolean;
  deleted: number;
  horizon: { xid: string; id: string } | null;
}

export async function pruneChangeLog(pool: pg.Pool, retentionMs: number, log: Logger): Promise<PruneResult> {
  const client = await pool.connect();
  // A checked-out client has no error listener of the pool's: without one, a server restart
  // between two statements would crash the process.
  const onError = (err: Error) => log.warn({ err: err.message }, 'pruning connection failed');
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const lock = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1::bigint) AS ok', [
      PRUNE_LOCK_KEY,
    ]);
    if (!lock.rows[0]?.ok) {
      await client.query('ROLLBACK');
      return { ran: false, deleted: 0, horizon: null };
    }
    // The newest final row old enough: it and everything before it in (xid, id) order go.
    const cut = await client.query<{ xid: string; id: string }>(
      `SELECT c.xid::text AS xid, c.id::text AS id FROM change_log c
        WHERE c.xid < pg_snapshot_xmin(pg_current_snapshot())
          AND c.created_at < now() - make_interval(secs => $1::double precision / 1000)
        ORDER BY c.xid DESC, c.id DESC LIMIT 1`,
      [retentionMs],
    );
    const horizon = cut.rows[0];
    if (!horizon) {
      await client.query('COMMIT');
      return { ran: true, deleted: 0, horizon: null };
    }
    const del = await client.query('DELETE FROM change_log WHERE (xid, id) <= ($1::xid8, $2::bigint)', [
      horizon.xid,
      horizon.id,
    ]);
    await client.query(
      `UPDATE feed_state SET pruned_xid = $1, pruned_id = $2::bigint, pruned_at = now()
        WHERE id = 1 AND (pruned_xid IS NULL OR (pruned_xid::xid8, pruned_id) < ($1::xid8, $2::bigint))`,
      [horizon.xid, horizon.id],
    );
    await client.query('COMMIT');
    log.info({ deleted: del.rowCount, horizon }, 'pruned the change log');
    return { ran: true, deleted: del.rowCount ?? 0, horizon };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.off('error', onError);
    client.release();
  }
}
